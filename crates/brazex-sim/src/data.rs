//! Static vocabularies the generator draws from: countries (with their
//! cities, languages, time zones, phone formats and coordinates), names by
//! culture, and the names of events, purchases, campaigns, canvases and cards.
//!
//! The tables deliberately contain what real exports contain and naive
//! readers trip over: accented and CJK names and cities, an emoji here and
//! there, quotes, backslashes, apostrophes, trailing spaces and dashes.
//! Changing a table changes every generated user, so fixtures that pin bytes
//! must be regenerated afterwards.

/// A person's name and an ASCII slug of it (for e-mail addresses).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Name(pub &'static str, pub &'static str);

/// First and last names of one culture.
#[derive(Debug)]
pub(crate) struct Culture {
    pub first: &'static [Name],
    pub last: &'static [Name],
}

/// One country and everything the generator derives from it.
#[derive(Debug)]
pub(crate) struct Country {
    /// ISO 3166-1 alpha-2.
    pub code: &'static str,
    /// Relative frequency among users (the weights sum to 1000).
    pub weight: u32,
    /// Index into [`CULTURES`].
    pub culture: usize,
    /// ISO 639-1 codes; the first is the most common.
    pub languages: &'static [&'static str],
    /// IANA time zones; the first is the most common.
    pub time_zones: &'static [&'static str],
    pub cities: &'static [&'static str],
    /// The E.164 country calling code, with `+`.
    pub calling_code: &'static str,
    /// How many national digits follow the calling code.
    pub national_digits: u32,
    /// The approximate centre, in millionths of a degree.
    pub lat_e6: i64,
    pub lon_e6: i64,
    /// How far (± millionths of a degree) coordinates spread around the centre.
    pub spread_e6: i64,
}

const fn n(name: &'static str, slug: &'static str) -> Name {
    Name(name, slug)
}

const C_EN: usize = 0;
const C_DE: usize = 1;
const C_FR: usize = 2;
const C_ES: usize = 3;
const C_JA: usize = 4;
const C_IN: usize = 5;
const C_KO: usize = 6;
const C_ZH: usize = 7;
const C_IT: usize = 8;
const C_NORTH: usize = 9;

pub(crate) static CULTURES: [Culture; 10] = [
    Culture {
        first: &[
            n("James", "james"),
            n("Mary", "mary"),
            n("Olivia", "olivia"),
            n("Liam", "liam"),
            n("Emma", "emma"),
            n("Noah", "noah"),
            n("Ava", "ava"),
            n("William", "william"),
            n("Sophia", "sophia"),
            n("Benjamin", "benjamin"),
            n("Charlotte", "charlotte"),
            n("Lucas", "lucas"),
            n("Amelia", "amelia"),
            n("Henry", "henry"),
            n("Harper", "harper"),
            n("Zoë", "zoe"),
            n("Renée", "renee"),
            n("Seán", "sean"),
            n("Siobhán", "siobhan"),
            n("Mary \"Molly\"", "molly"),
            n("JOHN", "john"),
            n("Jo-Ann", "joann"),
        ],
        last: &[
            n("Smith", "smith"),
            n("Johnson", "johnson"),
            n("Williams", "williams"),
            n("Brown", "brown"),
            n("Jones", "jones"),
            n("Garcia", "garcia"),
            n("Miller", "miller"),
            n("Davis", "davis"),
            n("O'Brien", "obrien"),
            n("O'Connor", "oconnor"),
            n("Taylor", "taylor"),
            n("Wilson", "wilson"),
            n("Anderson", "anderson"),
            n("Thomas", "thomas"),
            n("Moore", "moore"),
            n("Martin", "martin"),
            n("Lee", "lee"),
            n("Nguyễn", "nguyen"),
            n("Smith-Jones", "smithjones"),
            n("van der Berg ", "vanderberg"),
        ],
    },
    Culture {
        first: &[
            n("Lukas", "lukas"),
            n("Jürgen", "juergen"),
            n("Sophie", "sophie"),
            n("Maximilian", "maximilian"),
            n("Mia", "mia"),
            n("Leon", "leon"),
            n("Hannah", "hannah"),
            n("Felix", "felix"),
            n("Lena", "lena"),
            n("Jörg", "joerg"),
            n("Björn", "bjoern"),
            n("Anna", "anna"),
        ],
        last: &[
            n("Müller", "mueller"),
            n("Schmidt", "schmidt"),
            n("Schneider", "schneider"),
            n("Fischer", "fischer"),
            n("Weber", "weber"),
            n("Meyer", "meyer"),
            n("Wagner", "wagner"),
            n("Becker", "becker"),
            n("Schäfer", "schaefer"),
            n("Groß", "gross"),
            n("Köhler", "koehler"),
            n("Hoffmann", "hoffmann"),
        ],
    },
    Culture {
        first: &[
            n("Léa", "lea"),
            n("Hugo", "hugo"),
            n("Chloé", "chloe"),
            n("Louis", "louis"),
            n("Manon", "manon"),
            n("Gabriel", "gabriel"),
            n("Élodie", "elodie"),
            n("Théo", "theo"),
            n("Inès", "ines"),
            n("Raphaël", "raphael"),
            n("François", "francois"),
            n("Jean-Luc", "jeanluc"),
        ],
        last: &[
            n("Martin", "martin"),
            n("Bernard", "bernard"),
            n("Dubois", "dubois"),
            n("Thomas", "thomas"),
            n("Robert", "robert"),
            n("Petit", "petit"),
            n("Durand", "durand"),
            n("Lefèvre", "lefevre"),
            n("Moreau", "moreau"),
            n("Girard", "girard"),
            n("Fontaine", "fontaine"),
            n("D'Artagnan", "dartagnan"),
        ],
    },
    Culture {
        first: &[
            n("João", "joao"),
            n("María", "maria"),
            n("José", "jose"),
            n("Ana", "ana"),
            n("Lucía", "lucia"),
            n("Pedro", "pedro"),
            n("Sofía", "sofia"),
            n("Mateo", "mateo"),
            n("Valentina", "valentina"),
            n("Gonçalo", "goncalo"),
            n("Camila", "camila"),
            n("Diego", "diego"),
        ],
        last: &[
            n("García", "garcia"),
            n("Rodríguez", "rodriguez"),
            n("Silva", "silva"),
            n("Santos", "santos"),
            n("Oliveira", "oliveira"),
            n("Pérez", "perez"),
            n("González", "gonzalez"),
            n("Hernández", "hernandez"),
            n("López", "lopez"),
            n("Sánchez", "sanchez"),
            n("Gómez", "gomez"),
            n("Conceição", "conceicao"),
        ],
    },
    Culture {
        first: &[
            n("翔太", "shota"),
            n("さくら", "sakura"),
            n("陽菜", "hina"),
            n("蓮", "ren"),
            n("結衣", "yui"),
            n("大翔", "hiroto"),
            n("Yuki", "yuki"),
            n("Haruto", "haruto"),
            n("Aoi", "aoi"),
            n("Sota", "sota"),
        ],
        last: &[
            n("佐藤", "sato"),
            n("鈴木", "suzuki"),
            n("高橋", "takahashi"),
            n("田中", "tanaka"),
            n("伊藤", "ito"),
            n("渡辺", "watanabe"),
            n("Yamamoto", "yamamoto"),
            n("Nakamura", "nakamura"),
            n("Kobayashi", "kobayashi"),
        ],
    },
    Culture {
        first: &[
            n("Aarav", "aarav"),
            n("Vivaan", "vivaan"),
            n("Aditya", "aditya"),
            n("Ananya", "ananya"),
            n("Diya", "diya"),
            n("Priya", "priya"),
            n("Rohan", "rohan"),
            n("Saanvi", "saanvi"),
            n("Arjun", "arjun"),
            n("Isha", "isha"),
            n("अर्जुन", "arjun"),
        ],
        last: &[
            n("Sharma", "sharma"),
            n("Verma", "verma"),
            n("Gupta", "gupta"),
            n("Singh", "singh"),
            n("Patel", "patel"),
            n("Kumar", "kumar"),
            n("Reddy", "reddy"),
            n("Iyer", "iyer"),
            n("Nair", "nair"),
            n("शर्मा", "sharma"),
        ],
    },
    Culture {
        first: &[
            n("민준", "minjun"),
            n("서연", "seoyeon"),
            n("지호", "jiho"),
            n("Ji-woo", "jiwoo"),
            n("Seo-yeon", "seoyeon"),
            n("Min-jun", "minjun"),
        ],
        last: &[
            n("김", "kim"),
            n("이", "lee"),
            n("박", "park"),
            n("Kim", "kim"),
            n("Lee", "lee"),
            n("Park", "park"),
            n("Choi", "choi"),
        ],
    },
    Culture {
        first: &[
            n("伟", "wei"),
            n("芳", "fang"),
            n("娜", "na"),
            n("Wei", "wei"),
            n("Fang", "fang"),
            n("Li Na", "lina"),
            n("Xiu Ying", "xiuying"),
        ],
        last: &[
            n("王", "wang"),
            n("李", "li"),
            n("张", "zhang"),
            n("Wang", "wang"),
            n("Li", "li"),
            n("Zhang", "zhang"),
            n("Liu", "liu"),
            n("Chen", "chen"),
        ],
    },
    Culture {
        first: &[
            n("Giulia", "giulia"),
            n("Francesco", "francesco"),
            n("Alessandro", "alessandro"),
            n("Sofia", "sofia"),
            n("Lorenzo", "lorenzo"),
            n("Niccolò", "niccolo"),
            n("Aurora", "aurora"),
        ],
        last: &[
            n("Rossi", "rossi"),
            n("Russo", "russo"),
            n("Ferrari", "ferrari"),
            n("Esposito", "esposito"),
            n("Bianchi", "bianchi"),
            n("Romano", "romano"),
            n("Colombo", "colombo"),
            n("Ricci", "ricci"),
            n("D'Angelo", "dangelo"),
        ],
    },
    Culture {
        first: &[
            n("Sven", "sven"),
            n("Astrid", "astrid"),
            n("Søren", "soren"),
            n("Ingrid", "ingrid"),
            n("Lars", "lars"),
            n("Małgorzata", "malgorzata"),
            n("Łukasz", "lukasz"),
            n("Jan", "jan"),
            n("Daan", "daan"),
            n("Sanne", "sanne"),
            n("Freja", "freja"),
        ],
        last: &[
            n("Andersson", "andersson"),
            n("Johansson", "johansson"),
            n("Nielsen", "nielsen"),
            n("Jensen", "jensen"),
            n("de Vries", "devries"),
            n("van den Berg", "vandenberg"),
            n("Kowalski", "kowalski"),
            n("Nowak", "nowak"),
            n("Wiśniewski", "wisniewski"),
            n("Øberg", "oberg"),
        ],
    },
];

#[allow(clippy::too_many_arguments)]
const fn country(
    code: &'static str,
    weight: u32,
    culture: usize,
    languages: &'static [&'static str],
    time_zones: &'static [&'static str],
    cities: &'static [&'static str],
    calling_code: &'static str,
    national_digits: u32,
    (lat_e6, lon_e6, spread_e6): (i64, i64, i64),
) -> Country {
    Country {
        code,
        weight,
        culture,
        languages,
        time_zones,
        cities,
        calling_code,
        national_digits,
        lat_e6,
        lon_e6,
        spread_e6,
    }
}

/// Countries with a realistic skew for a US-based consumer app: about 30% US,
/// then the large markets, then a long tail.
pub(crate) static COUNTRIES: [Country; 28] = [
    country(
        "US",
        300,
        C_EN,
        &["en", "es"],
        &[
            "America/New_York",
            "America/Chicago",
            "America/Los_Angeles",
            "America/Denver",
            "America/Phoenix",
            "America/Anchorage",
            "Pacific/Honolulu",
        ],
        &[
            "New York",
            "Los Angeles",
            "Chicago",
            "Houston",
            "San José",
            "San Francisco",
            "Seattle",
            "Austin",
            "Miami",
            "Boston",
            "new york",
            "St. Louis",
        ],
        "+1",
        10,
        (39_800_000, -98_500_000, 12_000_000),
    ),
    country(
        "GB",
        80,
        C_EN,
        &["en", "cy"],
        &["Europe/London"],
        &[
            "London",
            "Manchester",
            "Birmingham",
            "Edinburgh",
            "Glasgow",
            "Bristol",
            "Leeds",
            "London ",
        ],
        "+44",
        10,
        (53_000_000, -1_500_000, 2_500_000),
    ),
    country(
        "DE",
        70,
        C_DE,
        &["de", "en", "tr"],
        &["Europe/Berlin"],
        &[
            "Berlin",
            "München",
            "Hamburg",
            "Köln",
            "Frankfurt am Main",
            "Düsseldorf",
            "Stuttgart",
        ],
        "+49",
        11,
        (51_000_000, 10_400_000, 2_500_000),
    ),
    country(
        "FR",
        60,
        C_FR,
        &["fr", "en"],
        &["Europe/Paris"],
        &[
            "Paris",
            "Marseille",
            "Lyon",
            "Toulouse",
            "Nice",
            "Orléans",
            "Besançon",
            "Paris 🇫🇷",
        ],
        "+33",
        9,
        (46_600_000, 2_400_000, 3_000_000),
    ),
    country(
        "BR",
        60,
        C_ES,
        &["pt", "es"],
        &["America/Sao_Paulo", "America/Manaus", "America/Recife"],
        &[
            "São Paulo",
            "Rio de Janeiro",
            "Brasília",
            "Belo Horizonte",
            "Salvador",
            "Curitiba",
            "Florianópolis",
        ],
        "+55",
        11,
        (-14_200_000, -51_900_000, 9_000_000),
    ),
    country(
        "JP",
        55,
        C_JA,
        &["ja", "en"],
        &["Asia/Tokyo"],
        &[
            "東京",
            "大阪",
            "京都",
            "横浜",
            "名古屋",
            "札幌",
            "Tokyo",
            "Osaka",
        ],
        "+81",
        10,
        (36_200_000, 138_200_000, 4_000_000),
    ),
    country(
        "IN",
        55,
        C_IN,
        &["en", "hi", "ta", "bn"],
        &["Asia/Kolkata", "Asia/Calcutta"],
        &[
            "Mumbai",
            "Delhi",
            "Bengaluru",
            "Hyderabad",
            "Chennai",
            "Kolkata",
            "Pune",
            "मुंबई",
        ],
        "+91",
        10,
        (21_000_000, 78_900_000, 7_000_000),
    ),
    country(
        "CA",
        40,
        C_EN,
        &["en", "fr"],
        &[
            "America/Toronto",
            "America/Vancouver",
            "America/Edmonton",
            "America/Halifax",
        ],
        &[
            "Toronto",
            "Montréal",
            "Vancouver",
            "Calgary",
            "Ottawa",
            "Québec",
        ],
        "+1",
        10,
        (49_000_000, -95_000_000, 10_000_000),
    ),
    country(
        "AU",
        30,
        C_EN,
        &["en"],
        &["Australia/Sydney", "Australia/Melbourne", "Australia/Perth"],
        &["Sydney", "Melbourne", "Brisbane", "Perth", "Adelaide"],
        "+61",
        9,
        (-27_000_000, 133_000_000, 10_000_000),
    ),
    country(
        "MX",
        30,
        C_ES,
        &["es", "en"],
        &["America/Mexico_City", "America/Cancun", "America/Tijuana"],
        &[
            "Ciudad de México",
            "Guadalajara",
            "Monterrey",
            "Puebla",
            "Mérida",
            "Cancún",
        ],
        "+52",
        10,
        (23_600_000, -102_500_000, 6_000_000),
    ),
    country(
        "ES",
        30,
        C_ES,
        &["es", "ca", "eu"],
        &["Europe/Madrid", "Atlantic/Canary"],
        &[
            "Madrid",
            "Barcelona",
            "València",
            "Sevilla",
            "Málaga",
            "Bilbao",
            "A Coruña",
        ],
        "+34",
        9,
        (40_400_000, -3_700_000, 3_000_000),
    ),
    country(
        "IT",
        30,
        C_IT,
        &["it"],
        &["Europe/Rome"],
        &["Roma", "Milano", "Napoli", "Torino", "Firenze", "Bologna"],
        "+39",
        10,
        (42_800_000, 12_500_000, 3_500_000),
    ),
    country(
        "NL",
        20,
        C_NORTH,
        &["nl", "en"],
        &["Europe/Amsterdam"],
        &["Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven"],
        "+31",
        9,
        (52_100_000, 5_300_000, 1_000_000),
    ),
    country(
        "SE",
        12,
        C_NORTH,
        &["sv", "en"],
        &["Europe/Stockholm"],
        &["Stockholm", "Göteborg", "Malmö", "Uppsala"],
        "+46",
        9,
        (60_100_000, 18_600_000, 4_000_000),
    ),
    country(
        "KR",
        20,
        C_KO,
        &["ko", "en"],
        &["Asia/Seoul"],
        &["서울", "부산", "인천", "Seoul", "Busan"],
        "+82",
        10,
        (36_500_000, 127_900_000, 1_500_000),
    ),
    country(
        "CN",
        15,
        C_ZH,
        &["zh", "en"],
        &["Asia/Shanghai"],
        &["北京", "上海", "广州", "深圳", "成都"],
        "+86",
        11,
        (35_800_000, 104_100_000, 9_000_000),
    ),
    country(
        "PL",
        15,
        C_NORTH,
        &["pl"],
        &["Europe/Warsaw"],
        &["Warszawa", "Kraków", "Łódź", "Wrocław", "Gdańsk", "Poznań"],
        "+48",
        9,
        (51_900_000, 19_100_000, 2_500_000),
    ),
    country(
        "AR",
        10,
        C_ES,
        &["es"],
        &[
            "America/Argentina/Buenos_Aires",
            "America/Argentina/Cordoba",
        ],
        &["Buenos Aires", "Córdoba", "Rosario", "Mendoza"],
        "+54",
        10,
        (-38_400_000, -63_600_000, 8_000_000),
    ),
    country(
        "IE",
        5,
        C_EN,
        &["en", "ga"],
        &["Europe/Dublin"],
        &["Dublin", "Cork", "Galway", "Dún Laoghaire"],
        "+353",
        9,
        (53_400_000, -8_200_000, 1_500_000),
    ),
    country(
        "CH",
        10,
        C_DE,
        &["de", "fr", "it", "rm"],
        &["Europe/Zurich"],
        &["Zürich", "Genève", "Basel", "Bern", "Lausanne"],
        "+41",
        9,
        (46_800_000, 8_200_000, 1_000_000),
    ),
    country(
        "AT",
        8,
        C_DE,
        &["de"],
        &["Europe/Vienna"],
        &["Wien", "Graz", "Linz", "Salzburg"],
        "+43",
        10,
        (47_500_000, 14_500_000, 1_500_000),
    ),
    country(
        "BE",
        10,
        C_FR,
        &["fr", "nl", "de"],
        &["Europe/Brussels"],
        &["Bruxelles", "Antwerpen", "Gent", "Liège"],
        "+32",
        9,
        (50_500_000, 4_500_000, 800_000),
    ),
    country(
        "PT",
        8,
        C_ES,
        &["pt"],
        &["Europe/Lisbon", "Atlantic/Azores"],
        &["Lisboa", "Porto", "Braga", "Coimbra"],
        "+351",
        9,
        (39_400_000, -8_200_000, 2_000_000),
    ),
    country(
        "NO",
        5,
        C_NORTH,
        &["nb", "nn", "en"],
        &["Europe/Oslo"],
        &["Oslo", "Bergen", "Trondheim", "Tromsø"],
        "+47",
        8,
        (60_500_000, 8_500_000, 4_000_000),
    ),
    country(
        "DK",
        5,
        C_NORTH,
        &["da"],
        &["Europe/Copenhagen"],
        &["København", "Aarhus", "Odense", "Aalborg"],
        "+45",
        8,
        (56_000_000, 10_000_000, 1_000_000),
    ),
    country(
        "CO",
        8,
        C_ES,
        &["es"],
        &["America/Bogota"],
        &["Bogotá", "Medellín", "Cali", "Barranquilla"],
        "+57",
        10,
        (4_600_000, -74_100_000, 3_000_000),
    ),
    country(
        "NZ",
        5,
        C_EN,
        &["en", "mi"],
        &["Pacific/Auckland"],
        &["Auckland", "Wellington", "Christchurch"],
        "+64",
        9,
        (-40_900_000, 174_900_000, 3_000_000),
    ),
    country(
        "ZA",
        4,
        C_EN,
        &["en", "af", "zu"],
        &["Africa/Johannesburg"],
        &["Johannesburg", "Cape Town", "Durban", "Pretoria"],
        "+27",
        9,
        (-30_600_000, 22_900_000, 4_000_000),
    ),
];

/// The weights of [`COUNTRIES`], in order, for weighted picks.
pub(crate) static COUNTRY_WEIGHTS: [u32; 28] = {
    let mut w = [0u32; 28];
    let mut i = 0;
    while i < 28 {
        w[i] = COUNTRIES[i].weight;
        i += 1;
    }
    w
};

pub(crate) static EMAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "gmx.de",
    "web.de",
    "orange.fr",
    "yahoo.co.jp",
    "naver.com",
    "example.com",
    "proton.me",
];

pub(crate) static ATTRIBUTED_SOURCES: &[&str] = &[
    "Facebook Ads",
    "Google Ads",
    "TikTok For Business",
    "Apple Search Ads",
    "Organic",
    "Snapchat",
    "Influencer – Q2",
];
pub(crate) static ATTRIBUTED_CAMPAIGNS: &[&str] = &[
    "spring_sale_2024",
    "brand_awareness_us",
    "retargeting_cart",
    "launch_v5",
    "black_friday_2025",
    "Sommer-Kampagne",
    "app_install_jp_東京",
];
pub(crate) static ATTRIBUTED_ADGROUPS: &[&str] = &[
    "lookalike_1pct",
    "interest_fitness",
    "broad_18_34",
    "retargeting_7d",
    "keywords_brand",
];
pub(crate) static ATTRIBUTED_ADS: &[&str] = &[
    "video_15s_v2",
    "carousel_products",
    "static_banner_A",
    "static_banner_B",
    "ugc_testimonial \"Anna\"",
];

pub(crate) static CUSTOM_EVENTS: &[&str] = &[
    "added_to_cart",
    "viewed_product",
    "completed_onboarding",
    "search",
    "shared_content",
    "started_trial",
    "level_completed",
    "played_song",
    "viewed_article",
    "rated_app",
    "invited_friend",
    "checkout_started",
    "wishlist_add",
    "video_watched",
    "achievement unlocked",
    "Premium Upgrade 🎉",
    "événement_spécial",
    "filter:applied",
    "clicked \"Buy now\"",
    "app_open",
];

pub(crate) static PURCHASES: &[&str] = &[
    "sku_pro",
    "sku_basic",
    "gift_card",
    "sku_pro_annual",
    "coins_100",
    "coins_500",
    "remove_ads",
    "season_pass",
    "sticker_pack_日本",
    "premium_monthly",
];

pub(crate) static CAMPAIGNS: &[&str] = &[
    "Welcome Series – Day 1",
    "Spring Sale 2024",
    "Cart Abandonment",
    "Win-back 30d",
    "Push: Flash Deal ⚡",
    "Newsletter #42",
    "Onboarding \"Tips\"",
    "Rappel panier",
    "Sommerangebot für Sie",
    "ポイント還元キャンペーン",
    "Re-engagement\\Test",
    "Price Drop Alert",
    "Birthday Reward 🎂",
    "Feature Announcement",
    "Survey Q3",
    "Weekly Digest",
];

pub(crate) static CAMPAIGN_VARIANTS: &[&str] = &[
    "Variant 1",
    "Variant 2",
    "Variant A",
    "Variant B",
    "Control",
];

pub(crate) static CANVASES: &[&str] = &[
    "Onboarding Journey",
    "Trial Conversion",
    "Lapsed User Win-back",
    "Loyalty Tier Upgrade",
    "Holiday Canvas 🎄",
    "Cross-sell: Pro → Team",
    "Abandoned Browse",
    "Reactivation (EU)",
];

pub(crate) static CANVAS_STEPS: &[&str] = &[
    "Entry",
    "Welcome Email",
    "Wait 1 day",
    "Push Reminder",
    "In-App Message",
    "Decision Split",
    "Exit",
    "Delay 3d",
    "SMS Nudge",
    "Action Path",
];

pub(crate) static CARDS: &[&str] = &[
    "Summer Promo Card",
    "New Feature: Dark Mode",
    "Complete your profile",
    "Refer a friend",
    "Weekly Digest",
    "Exclusive Offer 20% off",
    "Tutorial: Getting Started",
    "ニュース",
];

/// Apps of the simulated workspace: (name, platform).
pub(crate) static APPS: &[(&str, &str)] = &[
    ("Acme Shop", "iOS"),
    ("Acme Shop", "Android"),
    ("Acme Web", "Web"),
    ("Acme TV", "Roku"),
    ("Acme TV", "tvOS"),
    ("Acme for Windows", "Windows"),
];

pub(crate) static IOS_MODELS: &[&str] = &[
    "iPhone15,2",
    "iPhone15,3",
    "iPhone16,1",
    "iPhone14,5",
    "iPhone 13",
    "iPad13,1",
];
pub(crate) static IOS_VERSIONS: &[&str] = &["iOS 17.4.1", "iOS 17.5", "iOS 16.7.8", "iOS 18.1"];
pub(crate) static ANDROID_MODELS: &[&str] = &[
    "SM-S911B", "SM-A546B", "Pixel 8", "Pixel 7a", "M2101K6G", "CPH2451",
];
pub(crate) static ANDROID_VERSIONS: &[&str] =
    &["Android 14", "Android 13", "Android 12", "Android 15"];
pub(crate) static CARRIERS: &[&str] = &[
    "Verizon",
    "T-Mobile",
    "AT&T",
    "Vodafone",
    "Telekom.de",
    "Orange F",
    "NTT DOCOMO",
    "SoftBank",
    "Jio 4G",
    "Claro BR",
    "",
];

/// Values of the `plan` custom attribute.
pub(crate) static PLANS: &[&str] = &["free", "basic", "pro", "enterprise", "Pro ", "trial"];

/// Values of `favorite_tags` (unicode and an emoji on purpose).
pub(crate) static TAGS: &[&str] = &[
    "music",
    "sports",
    "café",
    "日本",
    "🎸 rock",
    "travel",
    "deals",
    "news",
    "cooking",
    "k-pop",
    "fitness",
    "tech",
];

/// Values of `bio`: strings full of characters that must be escaped.
pub(crate) static BIOS: &[&str] = &[
    "Loves \"quotes\" and back\\slashes",
    "line one\nline two",
    "tab\tseparated\tvalues",
    "C:\\Users\\braze\\Documents",
    "carriage\r\nreturn",
    "bell \u{7} and nul-ish \u{1f}",
    "emoji 😀🚀 and CJK 漢字",
    "paragraph\u{2029}separator and line\u{2028}separator",
    "{\"looks\": \"like json\"}",
    "",
];

pub(crate) static SIGNUP_SOURCES: &[&str] = &["ios", "android", "web", "referral", "import"];
pub(crate) static THEMES: &[&str] = &["dark", "light", "system"];
pub(crate) static PET_KINDS: &[&str] = &["dog", "cat", "parrot", "hamster"];
pub(crate) static PET_NAMES: &[&str] = &["Rex", "Luna", "Mochi", "Bella", "Chloé", "ポチ"];
pub(crate) static NICKNAMES: &[&str] = &[
    "Jojo 🌟",
    "the \"boss\"",
    "ñoño",
    "Łoś",
    "小明",
    "x_X",
    "🦄",
];
pub(crate) static STREETS: &[&str] = &[
    "Main St",
    "Hauptstraße",
    "Rue de la Paix",
    "Avenida Paulista",
    "銀座通り",
    "High Street",
];
pub(crate) static ALIAS_LABELS: &[&str] =
    &["amplitude_id", "shopify_customer_id", "email", "legacy_id"];

#[cfg(test)]
mod tests {
    use super::*;

    /// Some table entries are copied into JSON strings without the escaper
    /// (slugs, domains, streets, calling codes); they must never need it, and
    /// slugs must be non-empty (e-mail building indexes their first byte).
    #[test]
    fn raw_written_entries_need_no_escaping() {
        let plain = |s: &str| {
            s.bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        };
        for c in &CULTURES {
            for n in c.first.iter().chain(c.last) {
                assert!(
                    !n.1.is_empty() && n.1.bytes().all(|b| b.is_ascii_lowercase()),
                    "{}",
                    n.1
                );
            }
        }
        for s in EMAIL_DOMAINS
            .iter()
            .chain(STREETS.iter().filter(|s| s.is_ascii()))
        {
            assert!(plain(s), "{s}");
        }
        for s in STREETS {
            assert!(!s.contains(['"', '\\']) && !s.chars().any(char::is_control));
        }
        for c in &COUNTRIES {
            assert!(plain(c.calling_code) && c.calling_code.starts_with('+'));
            assert!(!c.cities.is_empty() && !c.languages.is_empty() && !c.time_zones.is_empty());
        }
        assert_eq!(COUNTRY_WEIGHTS.iter().sum::<u32>(), 1000);
        assert_eq!(COUNTRIES[0].code, "US");
        assert_eq!(COUNTRIES[0].weight, 300);
    }
}
