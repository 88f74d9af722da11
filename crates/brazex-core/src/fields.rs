//! The fields of a Braze user export, as documented (see `shared/braze-export-api.md`),
//! shared by the filter's warnings, the export request's validation and the simulator.

/// Valid names for `fields_to_export`.
pub const EXPORT_FIELDS: &[&str] = &[
    "apps",
    "attributed_campaign",
    "attributed_source",
    "attributed_adgroup",
    "attributed_ad",
    "braze_id",
    "campaigns_received",
    "canvases_received",
    "cards_clicked",
    "country",
    "created_at",
    "created_from",
    "custom_attributes",
    "custom_events",
    "devices",
    "dob",
    "email",
    "email_subscribe",
    "external_id",
    "first_name",
    "gender",
    "home_city",
    "language",
    "last_coordinates",
    "last_name",
    "phone",
    "purchases",
    "push_subscribe",
    "push_tokens",
    "random_bucket",
    "time_zone",
    "total_revenue",
    "uninstalled_at",
    "user_aliases",
];

/// Top-level fields of a user object that are not `fields_to_export` names: each comes
/// with the field it depends on (the opt-in and unsubscribe timestamps).
pub const DEPENDENT_FIELDS: &[(&str, &str)] = &[
    ("push_opted_in_at", "push_subscribe"),
    ("push_unsubscribed_at", "push_subscribe"),
    ("email_opted_in_at", "email_subscribe"),
    ("email_unsubscribed_at", "email_subscribe"),
];

/// True for a top-level key a Braze user object can have.
pub fn is_user_field(key: &str) -> bool {
    EXPORT_FIELDS.contains(&key) || DEPENDENT_FIELDS.iter().any(|(k, _)| *k == key)
}

/// The `fields_to_export` name that brings top-level key `key` into the export.
pub fn export_field_for(key: &str) -> Option<&'static str> {
    EXPORT_FIELDS
        .iter()
        .find(|f| **f == key)
        .copied()
        .or_else(|| {
            DEPENDENT_FIELDS
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, f)| *f)
        })
}

/// The user field closest to `key` in edit distance, if close enough to be a likely
/// typo (at most 2 edits, and fewer than half the key).
pub fn closest_field(key: &str) -> Option<&'static str> {
    let key = key.to_lowercase();
    EXPORT_FIELDS
        .iter()
        .copied()
        .chain(DEPENDENT_FIELDS.iter().map(|(k, _)| *k))
        .map(|f| (edit_distance(&key, f), f))
        .filter(|&(d, _)| d <= 2 && d * 2 < key.chars().count())
        .min_by_key(|&(d, _)| d)
        .map(|(_, f)| f)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_suggestions() {
        assert!(is_user_field("email") && is_user_field("push_opted_in_at"));
        assert!(!is_user_field("plan"));
        assert_eq!(
            export_field_for("email_opted_in_at"),
            Some("email_subscribe")
        );
        assert_eq!(export_field_for("plan"), None);
        assert_eq!(closest_field("contry"), Some("country"));
        assert_eq!(closest_field("emial"), Some("email"));
        assert_eq!(closest_field("plan"), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
