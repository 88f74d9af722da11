//! Which fields a generated user carries: Braze's `fields_to_export` and
//! `custom_attributes_to_export`, as a [`FieldSet`].
//!
//! The simulator honours the export request the way Braze documents it, and
//! tests use subsets to check that brazex copes with whatever fields an export
//! happens to contain.

use crate::error::Error;

/// The valid `fields_to_export` names (in the documented order) and the fields that
/// travel with them: one list for the whole project, in `brazex_core::fields`. A
/// field's index in [`EXPORT_FIELDS`] is its bit in a [`FieldSet`].
///
/// `created_from` is accepted but never generated: the documentation lists it as
/// exportable without giving its type or values.
pub use brazex_core::fields::{DEPENDENT_FIELDS, EXPORT_FIELDS};

/// The custom attribute keys the generator can emit (each user has a random
/// subset). Useful to build `custom_attributes_to_export` requests.
pub const CUSTOM_ATTRIBUTE_NAMES: &[&str] = &[
    "plan",
    "favorite_tags",
    "loyalty_points",
    "lifetime_value",
    "is_vip",
    "newsletter_opt_in",
    "last_login",
    "signup_source",
    "a.b",
    "preferences",
    "address",
    "referral_code",
    "big_id",
    "bio",
    "score",
    "pets",
    "nickname",
    "lucky_numbers",
    "wishlist",
    "with space",
];

/// Bit indices into [`EXPORT_FIELDS`], checked against the names by a test.
pub(crate) mod id {
    pub(crate) const APPS: u32 = 0;
    pub(crate) const ATTRIBUTED_CAMPAIGN: u32 = 1;
    pub(crate) const ATTRIBUTED_SOURCE: u32 = 2;
    pub(crate) const ATTRIBUTED_ADGROUP: u32 = 3;
    pub(crate) const ATTRIBUTED_AD: u32 = 4;
    pub(crate) const BRAZE_ID: u32 = 5;
    pub(crate) const CAMPAIGNS_RECEIVED: u32 = 6;
    pub(crate) const CANVASES_RECEIVED: u32 = 7;
    pub(crate) const CARDS_CLICKED: u32 = 8;
    pub(crate) const COUNTRY: u32 = 9;
    pub(crate) const CREATED_AT: u32 = 10;
    pub(crate) const CUSTOM_ATTRIBUTES: u32 = 12;
    pub(crate) const CUSTOM_EVENTS: u32 = 13;
    pub(crate) const DEVICES: u32 = 14;
    pub(crate) const DOB: u32 = 15;
    pub(crate) const EMAIL: u32 = 16;
    pub(crate) const EMAIL_SUBSCRIBE: u32 = 17;
    pub(crate) const EXTERNAL_ID: u32 = 18;
    pub(crate) const FIRST_NAME: u32 = 19;
    pub(crate) const GENDER: u32 = 20;
    pub(crate) const HOME_CITY: u32 = 21;
    pub(crate) const LANGUAGE: u32 = 22;
    pub(crate) const LAST_COORDINATES: u32 = 23;
    pub(crate) const LAST_NAME: u32 = 24;
    pub(crate) const PHONE: u32 = 25;
    pub(crate) const PURCHASES: u32 = 26;
    pub(crate) const PUSH_SUBSCRIBE: u32 = 27;
    pub(crate) const PUSH_TOKENS: u32 = 28;
    pub(crate) const RANDOM_BUCKET: u32 = 29;
    pub(crate) const TIME_ZONE: u32 = 30;
    pub(crate) const TOTAL_REVENUE: u32 = 31;
    pub(crate) const UNINSTALLED_AT: u32 = 32;
    pub(crate) const USER_ALIASES: u32 = 33;
}

/// Which custom attributes are exported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CustomAttributes {
    /// All of them (`custom_attributes` is in `fields_to_export`).
    All,
    /// Only these names (`custom_attributes_to_export` without
    /// `custom_attributes`). Names the generator never produces are allowed
    /// and simply never appear, as with a real segment.
    Only(Vec<String>),
    /// None: no `custom_attributes` object is emitted.
    None,
}

/// The set of fields emitted for every user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldSet {
    /// Bit `i` set: `EXPORT_FIELDS[i]` is exported.
    mask: u64,
    custom: CustomAttributes,
    /// Bit `i` set: `CUSTOM_ATTRIBUTE_NAMES[i]` is exported (derived from
    /// `custom`, so the hot path tests a bit instead of comparing strings).
    custom_mask: u64,
}

impl Default for FieldSet {
    fn default() -> Self {
        FieldSet::all()
    }
}

impl FieldSet {
    /// Every documented field and every custom attribute.
    pub fn all() -> Self {
        FieldSet {
            mask: (1u64 << EXPORT_FIELDS.len()) - 1,
            custom: CustomAttributes::All,
            custom_mask: (1u64 << CUSTOM_ATTRIBUTE_NAMES.len()) - 1,
        }
    }

    /// The fields of a Braze export request, with Braze's semantics:
    /// `custom_attributes_to_export` is ignored when `custom_attributes` is in
    /// `fields_to_export` (all custom attributes are then exported), and
    /// otherwise selects the custom attributes that are exported inside the
    /// `custom_attributes` object. Duplicates are harmless.
    ///
    /// Fails with [`Error::UnknownField`] for a name that is not in
    /// [`EXPORT_FIELDS`] (the simulator answers such a request with 400).
    pub fn from_export_request<F, C>(
        fields_to_export: impl IntoIterator<Item = F>,
        custom_attributes_to_export: impl IntoIterator<Item = C>,
    ) -> Result<Self, Error>
    where
        F: AsRef<str>,
        C: AsRef<str>,
    {
        let mut mask = 0u64;
        for name in fields_to_export {
            let name = name.as_ref();
            let index = EXPORT_FIELDS
                .iter()
                .position(|&f| f == name)
                .ok_or_else(|| Error::UnknownField(name.to_owned()))?;
            mask |= 1 << index;
        }
        let requested: Vec<String> = custom_attributes_to_export
            .into_iter()
            .map(|c| c.as_ref().to_owned())
            .collect();
        let custom = if mask & (1 << id::CUSTOM_ATTRIBUTES) != 0 {
            CustomAttributes::All
        } else if requested.is_empty() {
            CustomAttributes::None
        } else {
            CustomAttributes::Only(requested)
        };
        Ok(FieldSet::with_custom(mask, custom))
    }

    fn with_custom(mask: u64, custom: CustomAttributes) -> Self {
        let custom_mask = match &custom {
            CustomAttributes::All => (1u64 << CUSTOM_ATTRIBUTE_NAMES.len()) - 1,
            CustomAttributes::None => 0,
            CustomAttributes::Only(names) => names
                .iter()
                .filter_map(|n| CUSTOM_ATTRIBUTE_NAMES.iter().position(|&c| c == n))
                .fold(0, |m, i| m | (1 << i)),
        };
        FieldSet {
            mask,
            custom,
            custom_mask,
        }
    }

    /// Whether the top-level field `name` (from [`EXPORT_FIELDS`]) is
    /// exported. For `custom_attributes` this is about the field being
    /// requested; see [`FieldSet::custom_attributes`] for what is emitted.
    pub fn contains(&self, name: &str) -> bool {
        EXPORT_FIELDS
            .iter()
            .position(|&f| f == name)
            .is_some_and(|i| self.mask & (1 << i) != 0)
    }

    /// The exported top-level field names, in [`EXPORT_FIELDS`] order.
    pub fn fields(&self) -> impl Iterator<Item = &'static str> + '_ {
        EXPORT_FIELDS
            .iter()
            .enumerate()
            .filter(|(i, _)| self.mask & (1 << i) != 0)
            .map(|(_, &f)| f)
    }

    /// Which custom attributes are exported.
    pub fn custom_attributes(&self) -> &CustomAttributes {
        &self.custom
    }

    /// Whether the field with bit `id` is exported.
    #[inline]
    pub(crate) fn has(&self, id: u32) -> bool {
        self.mask & (1 << id) != 0
    }

    /// Bit `i`: custom attribute `CUSTOM_ATTRIBUTE_NAMES[i]` is exported.
    #[inline]
    pub(crate) fn custom_mask(&self) -> u64 {
        self.custom_mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_names() {
        let pairs = [
            (id::APPS, "apps"),
            (id::ATTRIBUTED_CAMPAIGN, "attributed_campaign"),
            (id::ATTRIBUTED_SOURCE, "attributed_source"),
            (id::ATTRIBUTED_ADGROUP, "attributed_adgroup"),
            (id::ATTRIBUTED_AD, "attributed_ad"),
            (id::BRAZE_ID, "braze_id"),
            (id::CAMPAIGNS_RECEIVED, "campaigns_received"),
            (id::CANVASES_RECEIVED, "canvases_received"),
            (id::CARDS_CLICKED, "cards_clicked"),
            (id::COUNTRY, "country"),
            (id::CREATED_AT, "created_at"),
            (id::CUSTOM_ATTRIBUTES, "custom_attributes"),
            (id::CUSTOM_EVENTS, "custom_events"),
            (id::DEVICES, "devices"),
            (id::DOB, "dob"),
            (id::EMAIL, "email"),
            (id::EMAIL_SUBSCRIBE, "email_subscribe"),
            (id::EXTERNAL_ID, "external_id"),
            (id::FIRST_NAME, "first_name"),
            (id::GENDER, "gender"),
            (id::HOME_CITY, "home_city"),
            (id::LANGUAGE, "language"),
            (id::LAST_COORDINATES, "last_coordinates"),
            (id::LAST_NAME, "last_name"),
            (id::PHONE, "phone"),
            (id::PURCHASES, "purchases"),
            (id::PUSH_SUBSCRIBE, "push_subscribe"),
            (id::PUSH_TOKENS, "push_tokens"),
            (id::RANDOM_BUCKET, "random_bucket"),
            (id::TIME_ZONE, "time_zone"),
            (id::TOTAL_REVENUE, "total_revenue"),
            (id::UNINSTALLED_AT, "uninstalled_at"),
            (id::USER_ALIASES, "user_aliases"),
        ];
        for (i, name) in pairs {
            assert_eq!(EXPORT_FIELDS[i as usize], name);
        }
        assert_eq!(EXPORT_FIELDS.len(), 34);
        assert!(CUSTOM_ATTRIBUTE_NAMES.len() < 64);
    }

    #[test]
    fn export_request_semantics() {
        let fs = FieldSet::from_export_request(["email", "country"], ["plan"]).expect("valid");
        assert!(fs.contains("email") && fs.contains("country"));
        assert!(!fs.contains("braze_id") && !fs.contains("nonsense"));
        assert_eq!(fs.fields().collect::<Vec<_>>(), ["country", "email"]);
        assert_eq!(
            fs.custom_attributes(),
            &CustomAttributes::Only(vec!["plan".into()])
        );
        assert_eq!(fs.custom_mask(), 1);

        let fs = FieldSet::from_export_request(["custom_attributes"], ["plan"]).expect("valid");
        assert_eq!(fs.custom_attributes(), &CustomAttributes::All);

        let fs = FieldSet::from_export_request(["email"], Vec::<String>::new()).expect("valid");
        assert_eq!(fs.custom_attributes(), &CustomAttributes::None);

        let err = FieldSet::from_export_request(["email", "nope"], [""; 0]);
        assert!(matches!(err, Err(Error::UnknownField(f)) if f == "nope"));

        let all = FieldSet::from_export_request(EXPORT_FIELDS, [""; 0]).expect("valid");
        assert_eq!(all, FieldSet::all());
    }
}
