//! The deterministic generator of Braze-shaped users.
//!
//! A user is a pure function of `(seed, index)`: [`UserGenerator::write_user`]
//! needs no state from earlier users, so any range of users (one zip entry, a
//! byte range of a simulated download, one thread's share) can be generated
//! independently and in parallel, and always comes out byte-identical.
//!
//! Inside a user, every field draws from its own random stream (seeded from
//! the user's seed and the field), so a user's values do not depend on which
//! fields are exported: the `email` of user 7 is the same whether the export
//! asked for all fields or only for `email`. Only a few fields that must agree
//! (names, country, creation time) come from a shared per-user "profile".
//!
//! The output follows the Braze user object (see `braze-export-api.md`):
//! compact single-line JSON, optional fields omitted at realistic rates
//! (a missing field means null/false/empty), timestamps as
//! `2024-03-01T10:00:00.000Z` between 2020-01-01 and 2026-11-01, and a good
//! share of awkward content (unicode, escapes, `\u` escapes, integers beyond
//! 2^53, exponent floats, a type that drifts between users).

use std::ops::Range;

use crate::data::{self, Country, Culture, Name, COUNTRIES, COUNTRY_WEIGHTS, CULTURES};
use crate::fields::{id, FieldSet, CUSTOM_ATTRIBUTE_NAMES};
use crate::json::{self, days_from_civil, Arr, Obj, DAY};
use crate::rng::{mix, Rng};

/// The earliest generated timestamp: 2020-01-01T00:00:00Z (Unix seconds).
pub const MIN_TIMESTAMP: i64 = days_from_civil(2020, 1, 1) * DAY;

/// The simulated time of the export: just before 2026-11-01T00:00:00Z. No
/// generated timestamp is later; the 90-day lists (events, purchases,
/// campaigns, canvases) are relative to it.
pub const EXPORT_TIMESTAMP: i64 = days_from_civil(2026, 11, 1) * DAY - 1;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct GeneratorConfig {
    /// Selects the population: different seeds give unrelated users.
    pub seed: u64,
    /// The fields emitted for every user.
    pub fields: FieldSet,
}

impl GeneratorConfig {
    /// All fields, with the given seed.
    pub fn new(seed: u64) -> Self {
        GeneratorConfig {
            seed,
            fields: FieldSet::all(),
        }
    }
}

/// Generates users; cheap to clone and `Send + Sync`, so threads can share one.
#[derive(Clone, Debug)]
pub struct UserGenerator {
    config: GeneratorConfig,
    /// Mixed from the seed; every user seed, id and catalog id derives from it.
    key: u64,
}

/// Per-field salts, so each field gets an independent stream. Fields use
/// their [`id`] bit; the values below are for streams that are not fields.
const SALT_PROFILE: u64 = 1000;
const SALT_ATTRIBUTION: u64 = 1001;
const SALT_CUSTOM_BASE: u64 = 2000;
const SALT_CATALOG_CAMPAIGN: u64 = 0x0C4A_0000_0000;
const SALT_CATALOG_VARIANT: u64 = 0x0C4B_0000_0000;
const SALT_CATALOG_CANVAS: u64 = 0x0C4C_0000_0000;
const SALT_CATALOG_STEP: u64 = 0x0C4D_0000_0000;
const SALT_EXTERNAL_ID: u64 = 0x0E17_0000_0000;

impl UserGenerator {
    /// A generator for `config`.
    pub fn new(config: GeneratorConfig) -> Self {
        let key = mix(config.seed ^ 0x5851_F42D_4C95_7F2D);
        UserGenerator { config, key }
    }

    /// The configuration this generator was built with.
    pub fn config(&self) -> &GeneratorConfig {
        &self.config
    }

    /// Appends user `index` to `out` as one compact JSON object on a single
    /// line, **without** a trailing newline. The bytes depend only on the
    /// seed, the field set and `index`. The output is valid UTF-8 and contains
    /// no raw `\n` or `\r`.
    pub fn write_user(&self, index: u64, out: &mut Vec<u8>) {
        let user = User::new(self, index);
        let fields = &self.config.fields;
        let mut o = Obj::open(out);
        for &(field, write) in WRITERS.iter() {
            // custom_attributes is also emitted for custom_attributes_to_export
            // without the field itself, so it decides for itself.
            if field == id::CUSTOM_ATTRIBUTES || fields.has(field) {
                write(&user, &mut o);
            }
        }
        o.close();
    }

    /// Appends users `users` to `out`, each followed by `\n` (NDJSON).
    pub fn write_users(&self, users: Range<u64>, out: &mut Vec<u8>) {
        for index in users {
            self.write_user(index, out);
            out.push(b'\n');
        }
    }

    /// User `index` as a `String` (convenience for tests and examples).
    pub fn user_string(&self, index: u64) -> String {
        let mut out = Vec::with_capacity(4096);
        self.write_user(index, &mut out);
        // The writer only ever emits UTF-8; the lossy path is unreachable.
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// A stable 128-bit id for catalog entry `index` of a kind (campaign,
    /// canvas, ...), the same for every user of this seed, as in a real
    /// workspace where a campaign has one id.
    fn catalog_id(&self, salt: u64, index: u64) -> (u64, u64) {
        let a = mix(self.key ^ salt ^ index);
        (a, mix(a ^ 0xA5A5_A5A5_A5A5_A5A5))
    }
}

/// Writes one top-level field of a user (or nothing, when the user lacks it).
type FieldWriter = fn(&User, &mut Obj);

/// The field writers, in output order. The order follows the
/// documentation's table; readers must not depend on it, but a stable order
/// keeps fixtures diffable.
const WRITERS: [(u32, FieldWriter); 33] = [
    (id::EXTERNAL_ID, external_id),
    (id::BRAZE_ID, braze_id),
    (id::FIRST_NAME, first_name),
    (id::LAST_NAME, last_name),
    (id::EMAIL, email),
    (id::HOME_CITY, home_city),
    (id::COUNTRY, country),
    (id::PHONE, phone),
    (id::LANGUAGE, language),
    (id::TIME_ZONE, time_zone),
    (id::GENDER, gender),
    (id::ATTRIBUTED_CAMPAIGN, attributed_campaign),
    (id::ATTRIBUTED_SOURCE, attributed_source),
    (id::ATTRIBUTED_ADGROUP, attributed_adgroup),
    (id::ATTRIBUTED_AD, attributed_ad),
    (id::DOB, dob),
    (id::CREATED_AT, created_at),
    (id::UNINSTALLED_AT, uninstalled_at),
    (id::PUSH_SUBSCRIBE, push_subscribe),
    (id::EMAIL_SUBSCRIBE, email_subscribe),
    (id::TOTAL_REVENUE, total_revenue),
    (id::RANDOM_BUCKET, random_bucket),
    (id::LAST_COORDINATES, last_coordinates),
    (id::USER_ALIASES, user_aliases),
    (id::CUSTOM_ATTRIBUTES, custom_attributes),
    (id::CUSTOM_EVENTS, custom_events),
    (id::PURCHASES, purchases),
    (id::DEVICES, devices),
    (id::PUSH_TOKENS, push_tokens),
    (id::APPS, apps),
    (id::CAMPAIGNS_RECEIVED, campaigns_received),
    (id::CANVASES_RECEIVED, canvases_received),
    (id::CARDS_CLICKED, cards_clicked),
];
/// The per-user state shared by all fields.
struct User<'g> {
    gen: &'g UserGenerator,
    index: u64,
    /// Unique per index for a given seed (`mix` is a bijection).
    seed: u64,
    country: &'static Country,
    first: Name,
    last: Name,
    created: i64,
}

impl<'g> User<'g> {
    fn new(gen: &'g UserGenerator, index: u64) -> Self {
        let seed = mix(index ^ gen.key);
        let mut r = Rng::new(mix(seed ^ SALT_PROFILE));
        let country = &COUNTRIES[r.weighted(&COUNTRY_WEIGHTS)];
        // One user in ten has a name from another culture than their country.
        let culture: &Culture = if r.chance(100) {
            &CULTURES[r.below(CULTURES.len() as u64) as usize]
        } else {
            &CULTURES[country.culture]
        };
        let first = r.pick(culture.first);
        let last = r.pick(culture.last);
        // Sign-ups skew towards recent years (half the users take the later of
        // two draws); leave a day so later timestamps always fit.
        let hi = EXPORT_TIMESTAMP - DAY;
        let a = r.range_i64(MIN_TIMESTAMP, hi);
        let created = if r.chance(500) {
            a.max(r.range_i64(MIN_TIMESTAMP, hi))
        } else {
            a
        };
        User {
            gen,
            index,
            seed,
            country,
            first,
            last,
            created,
        }
    }

    /// The random stream of one field (or other salt) of this user.
    fn rng(&self, salt: u64) -> Rng {
        Rng::new(mix(self.seed ^ salt.wrapping_mul(0xD1B5_4A32_D192_ED03)))
    }

    /// Whether this user has an e-mail address: the first draw of the
    /// `email` stream, so `email_subscribe` can agree with `email`.
    fn has_email(&self) -> bool {
        self.rng(u64::from(id::EMAIL)).chance(750)
    }
}

// ---------------------------------------------------------------------------
// Small helpers.

/// A timestamp: half of them with milliseconds, half on the whole second
/// (`.000Z`), as both occur in real exports.
fn ts(out: &mut Vec<u8>, r: &mut Rng, secs: i64) {
    let millis = if r.chance(500) { r.below(1000) } else { 0 };
    json::timestamp(out, secs, millis);
}

/// A string, now and then (3%) written with `\u` escapes for non-ASCII.
fn text(out: &mut Vec<u8>, r: &mut Rng, s: &str) {
    if r.chance(30) {
        json::str_ascii(out, s);
    } else {
        json::str(out, s);
    }
}

/// `(first, last)` for a 90-day list entry: `last` within the 90 days before
/// the export (and after sign-up), `first` any time between sign-up and it.
fn recent_pair(r: &mut Rng, created: i64) -> (i64, i64) {
    let lo = created.max(EXPORT_TIMESTAMP - 90 * DAY);
    let last = r.range_i64(lo, EXPORT_TIMESTAMP);
    let first = r.range_i64(created, last + 1);
    (first, last)
}

/// A count with a long tail: mostly small, sometimes in the thousands.
fn count(r: &mut Rng) -> u64 {
    match r.below(10) {
        0..=5 => 1 + r.below(10),
        6..=8 => 1 + r.below(200),
        _ => 1 + r.below(20_000),
    }
}

/// How many entries a list gets: absent (`None`) with probability
/// `1 - present`, empty with probability `empty` among the present ones,
/// else `1..=max`.
fn list_len(r: &mut Rng, present: u64, empty: u64, max: u64) -> Option<u64> {
    if !r.chance(present) {
        None
    } else if r.chance(empty) {
        Some(0)
    } else {
        Some(1 + r.below(max))
    }
}

/// Appends `n` random characters of `alphabet`.
fn random_chars(out: &mut Vec<u8>, r: &mut Rng, alphabet: &[u8], n: usize) {
    let mut bits = 0u64;
    let mut left = 0;
    for _ in 0..n {
        // One 64-bit draw serves several characters.
        if left == 0 {
            bits = r.next_u64();
            left = 8;
        }
        out.push(alphabet[(bits & 0xFF) as usize % alphabet.len()]);
        bits >>= 8;
        left -= 1;
    }
}

const ALNUM_UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// ---------------------------------------------------------------------------
// Identity and demographics.

fn external_id(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::EXTERNAL_ID));
    // Anonymous users have no external_id.
    if !r.chance(920) {
        return;
    }
    let out = o.key("external_id");
    // Three styles as seen in practice; each embeds the index bijectively so
    // external ids are unique within an export.
    match r.below(10) {
        0..=5 => {
            out.push(b'"');
            json::u64(out, 1_000_000 + u.index);
            out.push(b'"');
        }
        6..=8 => {
            let hi = mix(u.index ^ u.gen.key ^ SALT_EXTERNAL_ID);
            json::uuid(out, hi, r.next_u64(), false);
        }
        _ => {
            out.extend_from_slice(b"\"cust_");
            json::hex(out, mix(u.index ^ u.gen.key ^ !SALT_EXTERNAL_ID), 16, false);
            out.push(b'"');
        }
    }
}

fn braze_id(u: &User, o: &mut Obj) {
    // Braze ids are Mongo ObjectIds: 4 bytes of creation time, then 8 bytes
    // here taken from the (unique) user seed: 24 lowercase hex digits.
    let out = o.key("braze_id");
    out.push(b'"');
    json::hex(out, u.created as u64, 8, false);
    json::hex(out, u.seed, 16, false);
    out.push(b'"');
}

fn first_name(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::FIRST_NAME));
    if r.chance(850) {
        text(o.key("first_name"), &mut r, u.first.0);
    }
}

fn last_name(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::LAST_NAME));
    if r.chance(800) {
        text(o.key("last_name"), &mut r, u.last.0);
    }
}

fn email(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::EMAIL));
    if !r.chance(750) {
        return;
    }
    let out = o.key("email");
    out.push(b'"');
    let (f, l) = (u.first.1.as_bytes(), u.last.1.as_bytes());
    match r.below(20) {
        0..=7 => {
            out.extend_from_slice(f);
            out.push(b'.');
            out.extend_from_slice(l);
        }
        8..=13 => {
            out.extend_from_slice(f);
            out.extend_from_slice(l);
            json::u64(out, r.below(100));
        }
        14..=16 => {
            out.push(f[0]);
            out.push(b'.');
            out.extend_from_slice(l);
            out.extend_from_slice(b"+news");
        }
        17 | 18 => {
            out.extend_from_slice(l);
            out.push(b'_');
            json::u64(out, u.index);
        }
        _ => {
            // Mixed case, as users type it.
            out.push(f[0].to_ascii_uppercase());
            out.extend_from_slice(&f[1..]);
            out.push(b'.');
            out.push(l[0].to_ascii_uppercase());
            out.extend_from_slice(&l[1..]);
        }
    }
    out.push(b'@');
    out.extend_from_slice(r.pick(data::EMAIL_DOMAINS).as_bytes());
    out.push(b'"');
}

fn home_city(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::HOME_CITY));
    if r.chance(550) {
        let city = r.pick(u.country.cities);
        text(o.key("home_city"), &mut r, city);
    }
}

fn country(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::COUNTRY));
    if r.chance(880) {
        json::str(o.key("country"), u.country.code);
    }
}

fn phone(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::PHONE));
    if !r.chance(400) {
        return;
    }
    let out = o.key("phone");
    out.push(b'"');
    out.extend_from_slice(u.country.calling_code.as_bytes());
    // Mostly E.164; one in five with spaces, as imported from a CRM.
    let spaced = r.chance(200);
    if spaced {
        out.push(b' ');
    }
    for i in 0..u.country.national_digits {
        if spaced && i > 0 && i % 3 == 0 {
            out.push(b' ');
        }
        let digit = if i == 0 { 2 + r.below(8) } else { r.below(10) };
        out.push(b'0' + digit as u8);
    }
    out.push(b'"');
}

fn language(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::LANGUAGE));
    if !r.chance(700) {
        return;
    }
    let langs = u.country.languages;
    let lang = if r.chance(850) {
        langs[0]
    } else {
        r.pick(langs)
    };
    json::str(o.key("language"), lang);
}

fn time_zone(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::TIME_ZONE));
    if !r.chance(650) {
        return;
    }
    let zones = u.country.time_zones;
    let zone = if r.chance(600) {
        zones[0]
    } else {
        r.pick(zones)
    };
    json::str(o.key("time_zone"), zone);
}

fn gender(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::GENDER));
    if r.chance(500) {
        let g = ["M", "F", "O", "N", "P"][r.weighted(&[40, 42, 5, 5, 8])];
        json::str(o.key("gender"), g);
    }
}

/// One attribution field: about one user in five came through an attributed
/// install, and then each of the four fields is usually (90%) known. The
/// shared decision comes from its own stream so each field can be exported
/// alone and still agree with the others.
fn attribution(u: &User, o: &mut Obj, field: u32, key: &str, values: &[&str]) {
    if !u.rng(SALT_ATTRIBUTION).chance(220) {
        return;
    }
    let mut r = u.rng(u64::from(field));
    if r.chance(900) {
        let v = r.pick(values);
        text(o.key(key), &mut r, v);
    }
}

fn attributed_campaign(u: &User, o: &mut Obj) {
    let v = data::ATTRIBUTED_CAMPAIGNS;
    attribution(u, o, id::ATTRIBUTED_CAMPAIGN, "attributed_campaign", v);
}

fn attributed_source(u: &User, o: &mut Obj) {
    let v = data::ATTRIBUTED_SOURCES;
    attribution(u, o, id::ATTRIBUTED_SOURCE, "attributed_source", v);
}

fn attributed_adgroup(u: &User, o: &mut Obj) {
    let v = data::ATTRIBUTED_ADGROUPS;
    attribution(u, o, id::ATTRIBUTED_ADGROUP, "attributed_adgroup", v);
}

fn attributed_ad(u: &User, o: &mut Obj) {
    attribution(
        u,
        o,
        id::ATTRIBUTED_AD,
        "attributed_ad",
        data::ATTRIBUTED_ADS,
    );
}

fn dob(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::DOB));
    if !r.chance(350) {
        return;
    }
    // A few placeholder birthdays, as forms with a default produce them.
    let day = if r.chance(10) {
        days_from_civil(1900, 1, 1)
    } else {
        r.range_i64(days_from_civil(1940, 1, 1), days_from_civil(2011, 1, 1))
    };
    json::date(o.key("dob"), day);
}

// ---------------------------------------------------------------------------
// Lifecycle and subscription state.

fn created_at(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::CREATED_AT));
    ts(o.key("created_at"), &mut r, u.created);
}

fn uninstalled_at(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::UNINSTALLED_AT));
    if r.chance(80) {
        let t = r.range_i64(u.created, EXPORT_TIMESTAMP);
        ts(o.key("uninstalled_at"), &mut r, t);
    }
}

/// Writes a subscription state and the timestamps that go with it; `keys`
/// are the state's key and its opted-in and unsubscribed timestamp keys.
fn subscription(u: &User, o: &mut Obj, r: &mut Rng, keys: [&str; 3], weights: &[u32; 3]) {
    let state = ["opted_in", "subscribed", "unsubscribed"][r.weighted(weights)];
    let [state_key, opted_key, unsub_key] = keys;
    json::str(o.key(state_key), state);
    let opted = r.range_i64(u.created, EXPORT_TIMESTAMP);
    // An explicit opt-in is usually timestamped; an unsubscribed user may
    // have opted in before unsubscribing.
    if (state == "opted_in" && r.chance(900)) || (state == "unsubscribed" && r.chance(300)) {
        ts(o.key(opted_key), r, opted);
    }
    if state == "unsubscribed" && r.chance(850) {
        let t = r.range_i64(opted, EXPORT_TIMESTAMP);
        ts(o.key(unsub_key), r, t);
    }
}

fn push_subscribe(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::PUSH_SUBSCRIBE));
    if r.chance(700) {
        let keys = ["push_subscribe", "push_opted_in_at", "push_unsubscribed_at"];
        subscription(u, o, &mut r, keys, &[40, 45, 15]);
    }
}

fn email_subscribe(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::EMAIL_SUBSCRIBE));
    if u.has_email() && r.chance(950) {
        let keys = [
            "email_subscribe",
            "email_opted_in_at",
            "email_unsubscribed_at",
        ];
        subscription(u, o, &mut r, keys, &[25, 60, 15]);
    }
}

fn total_revenue(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::TOTAL_REVENUE));
    if !r.chance(600) {
        return;
    }
    let out = o.key("total_revenue");
    if r.chance(650) {
        out.extend_from_slice(b"0.0");
        return;
    }
    let cents = match r.below(4) {
        0 => r.below(1_000),
        1 => r.below(10_000),
        2 => r.below(100_000),
        _ => r.below(2_000_000),
    };
    json::fixed(out, cents as i64, 2);
}

fn random_bucket(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::RANDOM_BUCKET));
    json::u64(o.key("random_bucket"), r.below(10_000));
}

fn last_coordinates(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::LAST_COORDINATES));
    if !r.chance(300) {
        return;
    }
    let c = u.country;
    let lat = (c.lat_e6 + r.range_i64(-c.spread_e6, c.spread_e6)).clamp(-90_000_000, 90_000_000);
    let lon = (c.lon_e6 + r.range_i64(-c.spread_e6, c.spread_e6)).clamp(-180_000_000, 180_000_000);
    let out = o.key("last_coordinates");
    out.push(b'[');
    json::fixed(out, lon, 6);
    out.push(b',');
    json::fixed(out, lat, 6);
    out.push(b']');
}

fn user_aliases(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::USER_ALIASES));
    let Some(n) = list_len(&mut r, 250, 0, 2) else {
        return;
    };
    let mut buf = [0u8; 64];
    let n = r.distinct(data::ALIAS_LABELS.len(), n as usize, &mut buf);
    let mut arr = Arr::open(o.key("user_aliases"));
    for &label in &buf[..n] {
        let label = data::ALIAS_LABELS[label as usize];
        let mut a = Obj::open(arr.item());
        let out = a.key("alias_name");
        match label {
            "amplitude_id" => json::uuid(out, r.next_u64(), r.next_u64(), false),
            "email" => {
                out.push(b'"');
                out.extend_from_slice(u.first.1.as_bytes());
                out.push(b'@');
                out.extend_from_slice(r.pick(data::EMAIL_DOMAINS).as_bytes());
                out.push(b'"');
            }
            _ => {
                out.push(b'"');
                json::u64(out, 10_000_000 + r.below(90_000_000));
                out.push(b'"');
            }
        }
        json::str(a.key("alias_label"), label);
        a.close();
    }
    arr.close();
}

// ---------------------------------------------------------------------------
// Custom attributes.

/// Probability (per mille) of each custom attribute, by index in
/// [`CUSTOM_ATTRIBUTE_NAMES`].
const CUSTOM_ODDS: [u64; 20] = [
    700, 400, 500, 400, 300, 350, 450, 400, 100, 300, 150, 200, 60, 150, 300, 80, 100, 100, 150, 50,
];

fn custom_attributes(u: &User, o: &mut Obj) {
    let wanted = u.gen.config.fields.custom_mask();
    if wanted == 0 {
        return;
    }
    // Some users have no custom attributes at all, and a few have had all of
    // theirs removed (an empty object when everything is exported).
    let mut r = u.rng(u64::from(id::CUSTOM_ATTRIBUTES));
    if !r.chance(850) {
        return;
    }
    let cleared = r.chance(20);
    // Presence of each attribute is the first draw of its own stream, so the
    // set (and values) do not depend on which attributes were requested.
    let mut present = 0u64;
    for (i, &odds) in CUSTOM_ODDS.iter().enumerate() {
        if !cleared && wanted & (1 << i) != 0 && u.rng(SALT_CUSTOM_BASE + i as u64).chance(odds) {
            present |= 1 << i;
        }
    }
    // With everything exported an empty object occurs (an edge case for
    // readers); for a selection, nothing to show means no object.
    let all = u.gen.config.fields.has(id::CUSTOM_ATTRIBUTES);
    if present == 0 && !all {
        return;
    }
    let mut attrs = Obj::open(o.key("custom_attributes"));
    for (i, &name) in CUSTOM_ATTRIBUTE_NAMES.iter().enumerate() {
        if present & (1 << i) == 0 {
            continue;
        }
        let mut r = u.rng(SALT_CUSTOM_BASE + i as u64);
        let _presence = r.next_u64();
        custom_value(u, &mut r, i, attrs.key_escaped(name));
    }
    attrs.close();
}

/// Writes the value of custom attribute `i`.
fn custom_value(u: &User, r: &mut Rng, i: usize, out: &mut Vec<u8>) {
    match CUSTOM_ATTRIBUTE_NAMES[i] {
        "plan" => json::str(out, r.pick(data::PLANS)),
        "favorite_tags" => {
            let mut buf = [0u8; 64];
            let n = r.below(5) as usize;
            let n = r.distinct(data::TAGS.len(), n, &mut buf);
            let mut arr = Arr::open(out);
            for &t in &buf[..n] {
                let tag = data::TAGS[t as usize];
                text(arr.item(), r, tag);
            }
            arr.close();
        }
        "loyalty_points" => {
            let points = r.below(100_000);
            // The attribute's type drifted once: a few users carry it as a
            // string, which schema inference must survive.
            if r.chance(30) {
                out.push(b'"');
                json::u64(out, points);
                out.push(b'"');
            } else {
                json::u64(out, points);
            }
        }
        "lifetime_value" => float_value(r, out),
        "is_vip" | "newsletter_opt_in" => json::bool(out, r.chance(300)),
        "last_login" => {
            let mut t = Obj::open(out);
            let secs = r.range_i64(u.created, EXPORT_TIMESTAMP);
            ts(t.key("$time"), r, secs);
            t.close();
        }
        "signup_source" => json::str(out, r.pick(data::SIGNUP_SOURCES)),
        "a.b" => {
            if r.chance(500) {
                json::str(out, "dotted key")
            } else {
                json::u64(out, r.below(100))
            }
        }
        "preferences" => {
            let mut p = Obj::open(out);
            json::str(p.key("theme"), r.pick(data::THEMES));
            {
                let mut nt = Obj::open(p.key("notifications"));
                json::bool(nt.key("email"), r.chance(600));
                json::bool(nt.key("push"), r.chance(500));
                json::bool(nt.key("sms"), r.chance(200));
                nt.close();
            }
            if r.chance(500) {
                let mut langs = Arr::open(p.key("languages"));
                let primary = u.country.languages[0];
                json::str(langs.item(), primary);
                if primary != "en" && r.chance(400) {
                    json::str(langs.item(), "en");
                }
                langs.close();
            }
            p.close();
        }
        "address" => {
            let mut a = Obj::open(out);
            let street = a.key("street");
            street.push(b'"');
            json::u64(street, 1 + r.below(300));
            street.push(b' ');
            // Street names are static table entries without quotes, so only
            // the closing quote is needed after the raw bytes.
            street.extend_from_slice(r.pick(data::STREETS).as_bytes());
            street.push(b'"');
            let zip = a.key("zip");
            zip.push(b'"');
            json::u64(zip, 10_000 + r.below(90_000));
            zip.push(b'"');
            json::str(a.key("city"), r.pick(u.country.cities));
            json::str(a.key("country"), u.country.code);
            a.close();
        }
        "referral_code" => {
            if r.chance(500) {
                out.extend_from_slice(b"null");
            } else {
                out.extend_from_slice(b"\"REF-");
                random_chars(out, r, ALNUM_UPPER, 6);
                out.push(b'"');
            }
        }
        "big_id" => {
            // Integers that do not fit a double exactly (and some not an i64).
            const TWO_53: u64 = 1 << 53;
            match r.below(10) {
                0..=6 => json::u64(out, TWO_53 + 1 + r.below(i64::MAX as u64 - TWO_53)),
                7 | 8 => json::u64(out, i64::MAX as u64 + 1 + r.below(i64::MAX as u64)),
                _ => json::i64(out, -(TWO_53 as i64) - 1 - r.below(1 << 40) as i64),
            }
        }
        "bio" => {
            let bio = r.pick(data::BIOS);
            text(out, r, bio);
        }
        "score" => {
            if r.chance(200) {
                json::i64(out, r.range_i64(-100, 101));
            } else {
                json::fixed(out, r.range_i64(-100_000, 100_001), 3);
            }
        }
        "pets" => {
            let mut arr = Arr::open(out);
            for _ in 0..1 + r.below(2) {
                let mut p = Obj::open(arr.item());
                let name = r.pick(data::PET_NAMES);
                text(p.key("name"), r, name);
                json::str(p.key("kind"), r.pick(data::PET_KINDS));
                json::u64(p.key("age"), r.below(18));
                p.close();
            }
            arr.close();
        }
        "nickname" => {
            let nick = r.pick(data::NICKNAMES);
            if r.chance(300) {
                json::str_ascii(out, nick);
            } else {
                json::str(out, nick);
            }
        }
        "lucky_numbers" => {
            let mut arr = Arr::open(out);
            for _ in 0..r.below(4) {
                json::u64(arr.item(), r.below(100));
            }
            arr.close();
        }
        "wishlist" => {
            let mut arr = Arr::open(out);
            if r.chance(500) {
                let mut buf = [0u8; 64];
                let want = 1 + r.below(3) as usize;
                let n = r.distinct(data::PURCHASES.len(), want, &mut buf);
                for &p in &buf[..n] {
                    json::str(arr.item(), data::PURCHASES[p as usize]);
                }
            }
            arr.close();
        }
        _ => json::str(out, "value with space"),
    }
}

/// A float in one of the forms JSON allows: fixed-point mostly, exponent
/// forms (`1.5e2`, `2.75E+3`, `4.2e-1`) and integral values sometimes.
fn float_value(r: &mut Rng, out: &mut Vec<u8>) {
    match r.below(10) {
        0..=6 => json::fixed(out, r.below(1_000_000) as i64, 2),
        7 => {
            // m.d e E, e.g. 1.5e2
            json::u64(out, 1 + r.below(9));
            out.push(b'.');
            json::u64(out, 1 + r.below(9));
            out.push(b'e');
            json::u64(out, r.below(6));
        }
        8 => {
            json::u64(out, 1 + r.below(9));
            out.push(b'.');
            json::u64(out, 10 + r.below(90));
            out.extend_from_slice(b"E+");
            json::u64(out, 1 + r.below(4));
        }
        _ => {
            if r.chance(500) {
                json::u64(out, r.below(1000));
            } else {
                json::u64(out, 1 + r.below(9));
                out.push(b'.');
                json::u64(out, 1 + r.below(9));
                out.extend_from_slice(b"e-");
                json::u64(out, 1 + r.below(3));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Behaviour: events, purchases, devices, tokens, apps.

/// Writes `custom_events`/`purchases`-style entries: {name, first, last, count}.
fn named_counts(u: &User, o: &mut Obj, r: &mut Rng, key: &str, names: &[&str], n: u64) {
    let mut buf = [0u8; 64];
    let n = r.distinct(names.len(), n as usize, &mut buf);
    let mut arr = Arr::open(o.key(key));
    for &i in &buf[..n] {
        let mut e = Obj::open(arr.item());
        json::str(e.key("name"), names[i as usize]);
        let (first, last) = recent_pair(r, u.created);
        ts(e.key("first"), r, first);
        ts(e.key("last"), r, last);
        json::u64(e.key("count"), count(r));
        e.close();
    }
    arr.close();
}

fn custom_events(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::CUSTOM_EVENTS));
    if let Some(n) = list_len(&mut r, 700, 120, 8) {
        named_counts(u, o, &mut r, "custom_events", data::CUSTOM_EVENTS, n);
    }
}

fn purchases(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::PURCHASES));
    if let Some(n) = list_len(&mut r, 350, 100, 4) {
        named_counts(u, o, &mut r, "purchases", data::PURCHASES, n);
    }
}

fn devices(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::DEVICES));
    if !r.chance(750) {
        return;
    }
    let n = [1, 2, 3][r.weighted(&[60, 30, 10])];
    let mut arr = Arr::open(o.key("devices"));
    for _ in 0..n {
        let mut d = Obj::open(arr.item());
        let tracking = r.chance(450);
        match r.weighted(&[45, 45, 5, 5]) {
            0 => {
                json::str(d.key("model"), r.pick(data::IOS_MODELS));
                json::str(d.key("os"), r.pick(data::IOS_VERSIONS));
                if r.chance(700) {
                    json::str(d.key("carrier"), r.pick(data::CARRIERS));
                }
                if r.chance(950) {
                    json::uuid(d.key("idfv"), r.next_u64(), r.next_u64(), true);
                }
                if tracking {
                    json::uuid(d.key("idfa"), r.next_u64(), r.next_u64(), true);
                }
            }
            1 => {
                json::str(d.key("model"), r.pick(data::ANDROID_MODELS));
                json::str(d.key("os"), r.pick(data::ANDROID_VERSIONS));
                if r.chance(750) {
                    json::str(d.key("carrier"), r.pick(data::CARRIERS));
                }
                if r.chance(800) {
                    json::uuid(d.key("google_ad_id"), r.next_u64(), r.next_u64(), false);
                }
            }
            2 => {
                json::str(d.key("model"), "Roku Ultra");
                json::str(d.key("os"), "Roku OS 12.5");
                json::uuid(d.key("roku_ad_id"), r.next_u64(), r.next_u64(), false);
            }
            _ => {
                json::str(d.key("model"), "Surface Pro 9");
                json::str(d.key("os"), "Windows 11");
                json::uuid(d.key("windows_ad_id"), r.next_u64(), r.next_u64(), false);
            }
        }
        json::bool(d.key("ad_tracking_enabled"), tracking);
        d.close();
    }
    arr.close();
}

fn push_tokens(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::PUSH_TOKENS));
    let Some(n) = list_len(&mut r, 450, 0, 2) else {
        return;
    };
    let mut arr = Arr::open(o.key("push_tokens"));
    for _ in 0..n {
        let mut t = Obj::open(arr.item());
        let (app, platform) = match r.below(10) {
            0..=4 => ("Acme Shop", "ios"),
            5..=8 => ("Acme Shop", "android"),
            _ => ("Acme Web", "web"),
        };
        json::str(t.key("app"), app);
        json::str(t.key("platform"), platform);
        let out = t.key("token");
        out.push(b'"');
        match platform {
            // APNs tokens: 64 hex digits.
            "ios" => {
                for _ in 0..4 {
                    json::hex(out, r.next_u64(), 16, false);
                }
            }
            // FCM registration tokens: instance id, ':APA91b', base64url.
            "android" => {
                random_chars(out, &mut r, BASE64URL, 22);
                out.extend_from_slice(b":APA91b");
                random_chars(out, &mut r, BASE64URL, 134);
            }
            _ => {
                out.extend_from_slice(b"https://fcm.googleapis.com/fcm/send/");
                random_chars(out, &mut r, BASE64URL, 152);
            }
        }
        out.push(b'"');
        json::uuid(t.key("device_id"), r.next_u64(), r.next_u64(), false);
        json::bool(t.key("notifications_enabled"), r.chance(800));
        t.close();
    }
    arr.close();
}

fn apps(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::APPS));
    let Some(n) = list_len(&mut r, 800, 0, 3) else {
        return;
    };
    let mut buf = [0u8; 64];
    // Most users use the mobile apps; weight them by drawing from the first
    // three entries more often.
    let pool = if r.chance(700) { 3 } else { data::APPS.len() };
    let n = r.distinct(pool, n as usize, &mut buf);
    let mut arr = Arr::open(o.key("apps"));
    for &i in &buf[..n] {
        let (name, platform) = data::APPS[i as usize];
        let mut a = Obj::open(arr.item());
        json::str(a.key("name"), name);
        json::str(a.key("platform"), platform);
        let v = a.key("version");
        v.push(b'"');
        json::u64(v, 1 + r.below(6));
        v.push(b'.');
        json::u64(v, r.below(20));
        v.push(b'.');
        json::u64(v, r.below(10));
        v.push(b'"');
        json::u64(a.key("sessions"), count(&mut r));
        let (first, last) = recent_pair(&mut r, u.created);
        ts(a.key("first_used"), &mut r, first);
        ts(a.key("last_used"), &mut r, last);
        a.close();
    }
    arr.close();
}

// ---------------------------------------------------------------------------
// Messaging: campaigns, canvases, cards.

fn campaigns_received(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::CAMPAIGNS_RECEIVED));
    let Some(n) = list_len(&mut r, 600, 80, 6) else {
        return;
    };
    let mut buf = [0u8; 64];
    let n = r.distinct(data::CAMPAIGNS.len(), n as usize, &mut buf);
    let mut arr = Arr::open(o.key("campaigns_received"));
    for &i in &buf[..n] {
        let i = u64::from(i);
        let mut c = Obj::open(arr.item());
        json::str(c.key("name"), data::CAMPAIGNS[i as usize]);
        let (_, last) = recent_pair(&mut r, u.created);
        ts(c.key("last_received"), &mut r, last);
        {
            let mut e = Obj::open(c.key("engaged"));
            json::bool(e.key("opened_email"), r.chance(300));
            json::bool(e.key("opened_push"), r.chance(200));
            json::bool(e.key("clicked_email"), r.chance(100));
            json::bool(e.key("clicked_in_app_message"), r.chance(100));
            e.close();
        }
        let converted = r.chance(150);
        json::bool(c.key("converted"), converted);
        json::bool(c.key("multiple_converted"), converted && r.chance(200));
        let (hi, lo) = u.gen.catalog_id(SALT_CATALOG_CAMPAIGN, i);
        json::uuid(c.key("api_campaign_id"), hi, lo, false);
        let in_control = r.chance(80);
        // Control-group members received no variation.
        if !in_control {
            let v = r.below(2);
            let names = data::CAMPAIGN_VARIANTS;
            json::str(c.key("variation_name"), names[(v + 2 * (i % 2)) as usize]);
            let (hi, lo) = u.gen.catalog_id(SALT_CATALOG_VARIANT, i * 4 + v);
            json::uuid(c.key("variation_api_id"), hi, lo, false);
        }
        json::bool(c.key("in_control"), in_control);
        c.close();
    }
    arr.close();
}

fn canvases_received(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::CANVASES_RECEIVED));
    let Some(n) = list_len(&mut r, 450, 50, 3) else {
        return;
    };
    let mut buf = [0u8; 64];
    let n = r.distinct(data::CANVASES.len(), n as usize, &mut buf);
    let mut arr = Arr::open(o.key("canvases_received"));
    for &i in &buf[..n] {
        let i = u64::from(i);
        let mut c = Obj::open(arr.item());
        json::str(c.key("name"), data::CANVASES[i as usize]);
        let (hi, lo) = u.gen.catalog_id(SALT_CATALOG_CANVAS, i);
        json::uuid(c.key("api_canvas_id"), hi, lo, false);
        let (entered, last) = recent_pair(&mut r, u.created);
        ts(c.key("last_received_message"), &mut r, last);
        ts(c.key("last_entered"), &mut r, entered);
        let in_control = r.chance(80);
        if !in_control {
            let variant = if r.chance(500) {
                "Variant 1"
            } else {
                "Variant 2"
            };
            json::str(c.key("variation_name"), variant);
        }
        json::bool(c.key("in_control"), in_control);
        if r.chance(600) {
            let exited = r.range_i64(last, EXPORT_TIMESTAMP);
            ts(c.key("last_exited"), &mut r, exited);
        }
        if in_control {
            ts(c.key("last_entered_control_at"), &mut r, entered);
        } else {
            let mut steps = Arr::open(c.key("steps_received"));
            let mut sbuf = [0u8; 64];
            let want = 1 + r.below(4) as usize;
            let k = r.distinct(data::CANVAS_STEPS.len(), want, &mut sbuf);
            for &s in &sbuf[..k] {
                let s = u64::from(s);
                let mut st = Obj::open(steps.item());
                json::str(st.key("name"), data::CANVAS_STEPS[s as usize]);
                let (hi, lo) = u.gen.catalog_id(SALT_CATALOG_STEP, i * 64 + s);
                json::uuid(st.key("api_canvas_step_id"), hi, lo, false);
                let t = r.range_i64(entered, last + 1);
                ts(st.key("last_received"), &mut r, t);
                st.close();
            }
            steps.close();
        }
        c.close();
    }
    arr.close();
}

fn cards_clicked(u: &User, o: &mut Obj) {
    let mut r = u.rng(u64::from(id::CARDS_CLICKED));
    let Some(n) = list_len(&mut r, 150, 0, 3) else {
        return;
    };
    let mut buf = [0u8; 64];
    let n = r.distinct(data::CARDS.len(), n as usize, &mut buf);
    let mut arr = Arr::open(o.key("cards_clicked"));
    for &i in &buf[..n] {
        let mut c = Obj::open(arr.item());
        json::str(c.key("name"), data::CARDS[i as usize]);
        c.close();
    }
    arr.close();
}
