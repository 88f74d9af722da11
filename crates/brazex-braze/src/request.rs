//! The export request: exactly the body Braze documents.

use brazex_core::fields::{closest_field, EXPORT_FIELDS};
use serde::Serialize;

use crate::error::BrazeError;

/// Braze exports at most this many custom attributes by name.
pub const MAX_CUSTOM_ATTRIBUTES: usize = 500;

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportTarget {
    /// `POST /users/export/segment` with this `segment_id`.
    Segment(String),
    /// `POST /users/export/global_control_group`.
    GlobalControlGroup,
}

impl ExportTarget {
    /// The endpoint path.
    pub fn path(&self) -> &'static str {
        match self {
            ExportTarget::Segment(_) => "/users/export/segment",
            ExportTarget::GlobalControlGroup => "/users/export/global_control_group",
        }
    }
}

/// `output_format`: `zip` (Braze's default) or `gzip` (meaningful with the company's
/// own bucket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    #[default]
    Zip,
    Gzip,
}

/// The JSON body of an export request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_endpoint: Option<String>,
    pub fields_to_export: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_attributes_to_export: Vec<String>,
    pub output_format: OutputFormat,
}

impl ExportRequest {
    /// A checked request: every field name must be one Braze knows, and at most 500
    /// custom attributes may be named.
    pub fn new(
        target: &ExportTarget,
        fields_to_export: Vec<String>,
        custom_attributes_to_export: Vec<String>,
        output_format: OutputFormat,
        callback_endpoint: Option<String>,
    ) -> Result<ExportRequest, BrazeError> {
        for name in &fields_to_export {
            if !EXPORT_FIELDS.contains(&name.as_str()) {
                return Err(BrazeError::UnknownField {
                    name: name.clone(),
                    suggestion: closest_field(name),
                    valid: EXPORT_FIELDS.join(", "),
                });
            }
        }
        if custom_attributes_to_export.len() > MAX_CUSTOM_ATTRIBUTES {
            return Err(BrazeError::TooManyCustomAttributes(
                custom_attributes_to_export.len(),
            ));
        }
        Ok(ExportRequest {
            segment_id: match target {
                ExportTarget::Segment(id) => Some(id.clone()),
                ExportTarget::GlobalControlGroup => None,
            },
            callback_endpoint,
            fields_to_export,
            custom_attributes_to_export,
            output_format,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_exactly_the_documented_one() {
        let target = ExportTarget::Segment("seg-1".into());
        let req = ExportRequest::new(
            &target,
            vec!["email".into(), "purchases".into()],
            vec![],
            OutputFormat::Zip,
            None,
        )
        .expect("valid");
        assert_eq!(
            serde_json::to_value(&req).expect("json"),
            serde_json::json!({"segment_id": "seg-1", "fields_to_export": ["email", "purchases"], "output_format": "zip"})
        );
        let req = ExportRequest::new(
            &ExportTarget::GlobalControlGroup,
            vec!["email".into()],
            vec!["plan".into()],
            OutputFormat::Gzip,
            Some("https://hooks.example/cb".into()),
        )
        .expect("valid");
        assert_eq!(
            serde_json::to_value(&req).expect("json"),
            serde_json::json!({"callback_endpoint": "https://hooks.example/cb", "fields_to_export": ["email"], "custom_attributes_to_export": ["plan"], "output_format": "gzip"})
        );
    }

    #[test]
    fn unknown_fields_and_too_many_attributes() {
        let target = ExportTarget::Segment("s".into());
        let err = ExportRequest::new(
            &target,
            vec!["emial".into()],
            vec![],
            OutputFormat::Zip,
            None,
        )
        .expect_err("unknown");
        let text = err.to_string();
        assert!(
            text.contains("unknown field 'emial'") && text.contains("did you mean 'email'?"),
            "{text}"
        );
        assert!(text.contains("valid fields: apps,"), "{text}");
        let many: Vec<String> = (0..501).map(|i| format!("a{i}")).collect();
        let err = ExportRequest::new(&target, vec![], many, OutputFormat::Zip, None)
            .expect_err("too many");
        assert!(
            err.to_string()
                .starts_with("501 custom attributes requested"),
            "{err}"
        );
    }
}
