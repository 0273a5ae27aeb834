//! The word lists the catalog is generated from. Changing them changes the generated products, and
//! stored events refer to products by SKU: add at the end of a list rather than reorder it.

use crate::svg::Shape;

/// One category and what its products are made of.
pub(crate) struct CategorySpec {
    pub slug: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// How many products the category gets.
    pub count: usize,
    /// The brands that make this kind of product.
    pub brands: &'static [&'static str],
    /// Product types; they take turns, so each gets about the same share.
    pub kinds: &'static [Kind],
    /// Words that go between the model line and the type, each with its tag and a selling point.
    pub modifiers: &'static [Modifier],
    /// Tags a product of the category may carry besides its modifier's.
    pub tags: &'static [&'static str],
}

/// A product type: "Trail Running Shoe".
pub(crate) struct Kind {
    pub noun: &'static str,
    /// Completes "The Ridgeline is ..." (with its article).
    pub about: &'static str,
    /// Whole euros, inclusive.
    pub price_eur: (u32, u32),
    pub shape: Shape,
}

/// "Waterproof", its tag, and the sentence that sells it.
pub(crate) struct Modifier {
    pub word: &'static str,
    pub tag: &'static str,
    pub feature: &'static str,
}

const fn kind(noun: &'static str, about: &'static str, price_eur: (u32, u32), shape: Shape) -> Kind {
    Kind { noun, about, price_eur, shape }
}

const fn modifier(word: &'static str, tag: &'static str, feature: &'static str) -> Modifier {
    Modifier { word, tag, feature }
}

/// Model lines, shared by every category: the first word of a product's name.
#[rustfmt::skip]
pub(crate) const LINES: &[&str] = &[
    "Ridgeline", "Alpine", "Summit", "Cascade", "Tundra", "Granite", "Aspen", "Fjord", "Horizon", "Nomad", "Drift",
    "Ember", "Glacier", "Juniper", "Meridian", "Solstice", "Talus", "Scree", "Cirrus", "Basalt", "Birch", "Cedar",
    "Dune", "Echo", "Flint", "Harbour", "Highland", "Lynx", "Moraine", "Pioneer", "Quartz", "Sierra", "Vista", "Wren",
    "Yukon", "Zephyr", "Arete", "Boreal", "Canyon", "Delta",
];

/// Main colours (CSS hex): the outdoor palette products come in.
#[rustfmt::skip]
pub(crate) const COLOURS: &[&str] = &[
    "#2f6b4f", "#1f4e79", "#c8462b", "#e0a526", "#2f8f9d", "#6a4c93", "#33383d", "#7d8c3c", "#e06c2f", "#3f7cc4",
    "#b2344c", "#8b5e3c", "#5b7083", "#4e9a5a",
];

pub(crate) const CATEGORIES: &[CategorySpec] = &[
    CategorySpec {
        slug: "shoes",
        name: "Shoes",
        description: "Trail runners, hiking shoes and boots for every kind of path.",
        count: 30,
        brands: &["Cairn", "Trailforge", "Wildmoor", "Kestrel"],
        kinds: &[
            kind(
                "Trail Running Shoe",
                "a trail running shoe with a lugged outsole that grips mud and loose gravel",
                (89, 169),
                Shape::Shoe,
            ),
            kind(
                "Hiking Shoe",
                "a low-cut hiking shoe with a supportive midsole for long days on the trail",
                (99, 179),
                Shape::Shoe,
            ),
            kind(
                "Hiking Boot",
                "a mid-height hiking boot that steadies the ankle on rocky ground",
                (129, 259),
                Shape::Boot,
            ),
            kind(
                "Approach Shoe",
                "an approach shoe with sticky rubber for scrambles and rocky paths",
                (109, 189),
                Shape::Shoe,
            ),
            kind(
                "Winter Boot",
                "an insulated winter boot for snow, slush and frosty mornings",
                (119, 229),
                Shape::Boot,
            ),
        ],
        modifiers: &[
            modifier("Waterproof", "waterproof", "A waterproof membrane keeps feet dry through puddles and wet grass."),
            modifier(
                "Lightweight",
                "lightweight",
                "It weighs less than a classic model, so legs stay fresh for longer.",
            ),
            modifier("Cushioned", "cushioned", "A thick foam midsole softens every step on hard-packed ground."),
            modifier("Wide-Fit", "wide-fit", "A roomier toe box leaves space for feet that swell on long descents."),
            modifier(
                "All-Terrain",
                "all-terrain",
                "The versatile tread handles forest paths, rock and wet meadows alike.",
            ),
            modifier("Recycled", "recycled", "The upper is woven from recycled polyester."),
        ],
        tags: &["hiking", "trail", "breathable", "durable"],
    },
    CategorySpec {
        slug: "jackets",
        name: "Jackets",
        description: "Rain shells, down and fleece to stay warm and dry.",
        count: 28,
        brands: &["Northpeak", "Fjellvik", "Wildmoor", "Tidewater"],
        kinds: &[
            kind(
                "Rain Jacket",
                "a breathable rain jacket with taped seams and an adjustable hood",
                (89, 279),
                Shape::Jacket,
            ),
            kind("Down Jacket", "a warm down jacket filled with responsibly sourced down", (149, 349), Shape::Jacket),
            kind(
                "Softshell Jacket",
                "a stretchy softshell jacket that blocks wind and sheds light showers",
                (99, 219),
                Shape::Jacket,
            ),
            kind(
                "Fleece Jacket",
                "a cosy fleece jacket that works as a warm layer or on its own",
                (59, 139),
                Shape::Jacket,
            ),
            kind(
                "Hardshell Jacket",
                "a tough three-layer hardshell jacket for storms on exposed ridges",
                (199, 429),
                Shape::Jacket,
            ),
        ],
        modifiers: &[
            modifier("Packable", "packable", "It packs into its own pocket when the sun comes out."),
            modifier("Hooded", "hooded", "The hood fits over a helmet and cinches down in one pull."),
            modifier("Recycled", "recycled", "The face fabric is made from recycled nylon."),
            modifier("Lightweight", "lightweight", "It weighs little enough to live in your pack all season."),
            modifier("Windproof", "windproof", "A windproof face fabric holds warmth in when gusts pick up."),
        ],
        tags: &["layering", "hiking", "travel", "breathable"],
    },
    CategorySpec {
        slug: "backpacks",
        name: "Backpacks",
        description: "Daypacks, trekking packs and travel bags that carry well.",
        count: 26,
        brands: &["Northpeak", "Cairn", "Tidewater", "Kestrel"],
        kinds: &[
            kind(
                "Daypack",
                "a 22-litre daypack with a padded laptop sleeve and side bottle pockets",
                (49, 119),
                Shape::Backpack,
            ),
            kind(
                "Hiking Backpack",
                "a 35-litre hiking backpack with a ventilated back panel and hip-belt pockets",
                (109, 219),
                Shape::Backpack,
            ),
            kind(
                "Trekking Pack",
                "a 60-litre trekking pack with an adjustable back length for multi-day trips",
                (179, 329),
                Shape::Backpack,
            ),
            kind(
                "Travel Pack",
                "a 40-litre travel pack that opens like a suitcase and fits cabin baggage limits",
                (99, 199),
                Shape::Backpack,
            ),
            kind(
                "Hydration Pack",
                "a slim hydration pack with a sleeve for a 2-litre reservoir",
                (59, 139),
                Shape::Backpack,
            ),
        ],
        modifiers: &[
            modifier("Ventilated", "ventilated", "A mesh back panel lets air flow so your back stays cooler."),
            modifier("Lightweight", "lightweight", "A minimal frame keeps the weight down without losing support."),
            modifier("Roll-Top", "roll-top", "The roll-top closure expands for bulky loads and seals out rain."),
            modifier(
                "Water-Resistant",
                "water-resistant",
                "Coated fabric and covered zips keep the contents dry in showers.",
            ),
            modifier("Recycled", "recycled", "It is sewn from polyester recycled from plastic bottles."),
        ],
        tags: &["hiking", "travel", "commuting", "durable"],
    },
    CategorySpec {
        slug: "tents",
        name: "Tents",
        description: "Shelters from ultralight solo tents to roomy family tents.",
        count: 22,
        brands: &["Northpeak", "Basecamp Supply", "Kestrel"],
        kinds: &[
            kind(
                "Solo Tent",
                "a one-person tent with a single door and a quick clip-on pitch",
                (149, 379),
                Shape::Tent,
            ),
            kind("2-Person Tent", "a two-person tent with two doors and two porches for gear", (189, 529), Shape::Tent),
            kind(
                "3-Person Tent",
                "a three-person tent with headroom to sit up and sort your kit",
                (249, 629),
                Shape::Tent,
            ),
            kind(
                "Family Tent",
                "a four-person family tent with a bright living area and dark bedrooms",
                (299, 799),
                Shape::Tent,
            ),
            kind("Tunnel Tent", "a tunnel tent that stands firm in wind when pitched tail-on", (219, 589), Shape::Tent),
        ],
        modifiers: &[
            modifier("Ultralight", "ultralight", "Every component is trimmed for weight, from the poles to the pegs."),
            modifier("Freestanding", "freestanding", "It stands up without pegs, so it pitches on rock and sand."),
            modifier("Four-Season", "four-season", "Extra poles and a snow skirt let it shrug off winter storms."),
            modifier("Backpacking", "backpacking", "It packs small enough to strap to the outside of a pack."),
            modifier("Quick-Pitch", "quick-pitch", "Colour-coded poles have it up in under five minutes."),
        ],
        tags: &["camping", "waterproof", "festival", "outdoor"],
    },
    CategorySpec {
        slug: "sleeping",
        name: "Sleeping",
        description: "Sleeping bags, liners and quilts for warm nights outdoors.",
        count: 22,
        brands: &["Northpeak", "Fjellvik", "Emberline"],
        kinds: &[
            kind(
                "Down Sleeping Bag",
                "a mummy-shaped down sleeping bag that packs to the size of a loaf of bread",
                (179, 489),
                Shape::SleepingBag,
            ),
            kind(
                "Synthetic Sleeping Bag",
                "a synthetic sleeping bag that stays warm even when damp",
                (69, 199),
                Shape::SleepingBag,
            ),
            kind(
                "Sleeping Bag Liner",
                "a soft sleeping bag liner that adds warmth and keeps your bag clean",
                (25, 79),
                Shape::SleepingBag,
            ),
            kind(
                "Camping Quilt",
                "an open-backed camping quilt for sleepers who toss and turn",
                (129, 329),
                Shape::SleepingBag,
            ),
            kind(
                "Travel Sleeping Bag",
                "a compact travel sleeping bag for hostels, huts and sleepovers",
                (49, 129),
                Shape::SleepingBag,
            ),
        ],
        modifiers: &[
            modifier("Three-Season", "three-season", "It is made for spring to autumn nights down to around freezing."),
            modifier("Summer", "summer", "A lighter fill keeps warm summer nights comfortable."),
            modifier("Winter", "winter", "Extra fill and a draught collar keep the cold out on winter trips."),
            modifier("Lightweight", "lightweight", "It weighs little and compresses small in its stuff sack."),
            modifier("Recycled", "recycled", "The shell and fill are made from recycled materials."),
        ],
        tags: &["camping", "backpacking", "warm", "compressible"],
    },
    CategorySpec {
        slug: "cooking",
        name: "Cooking",
        description: "Pots, cook sets and mugs for meals at camp.",
        count: 24,
        brands: &["Trailforge", "Basecamp Supply", "Emberline"],
        kinds: &[
            kind("Cook Pot", "a one-litre cook pot with a strainer lid and folding handles", (19, 69), Shape::Pot),
            kind(
                "Cook Set",
                "a nesting cook set with two pots, a pan and a lid that doubles as a plate",
                (39, 129),
                Shape::Pot,
            ),
            kind("Saucepan", "a camp saucepan with a folding handle and measuring marks inside", (22, 59), Shape::Pot),
            kind("Camp Mug", "a sturdy camp mug with a folding handle that clips to a pack", (9, 29), Shape::Mug),
            kind(
                "Insulated Mug",
                "a double-walled insulated mug that keeps coffee hot for an hour",
                (19, 39),
                Shape::Mug,
            ),
        ],
        modifiers: &[
            modifier("Titanium", "titanium", "Titanium makes it featherlight, and it will never rust."),
            modifier("Stainless", "stainless-steel", "Stainless steel shrugs off knocks, scrapes and open flames."),
            modifier("Hard-Anodised", "hard-anodised", "Hard-anodised aluminium heats quickly and evenly."),
            modifier("Nesting", "nesting", "It nests around a gas canister to save space in your pack."),
            modifier("Lightweight", "lightweight", "It adds almost nothing to the weight of your pack."),
        ],
        tags: &["camping", "backpacking", "cooking", "dishwasher-safe"],
    },
    CategorySpec {
        slug: "lights",
        name: "Lights",
        description: "Headlamps and lanterns for dark mornings and long evenings.",
        count: 22,
        brands: &["Trailforge", "Lumenra", "Emberline"],
        kinds: &[
            kind(
                "Headlamp",
                "a headlamp with a wide flood beam and a focused spot for the trail",
                (19, 79),
                Shape::Headlamp,
            ),
            kind(
                "Running Headlamp",
                "a bounce-free running headlamp with a red safety light at the back",
                (39, 99),
                Shape::Headlamp,
            ),
            kind(
                "Camp Lantern",
                "a camp lantern with warm light that fills a tent or a picnic table",
                (24, 79),
                Shape::Lantern,
            ),
            kind("Mini Lantern", "a pocket-sized mini lantern that hangs from a tent loop", (12, 34), Shape::Lantern),
            kind(
                "Power Headlamp",
                "a powerful headlamp with a long-range beam for night hikes",
                (59, 129),
                Shape::Headlamp,
            ),
        ],
        modifiers: &[
            modifier("Rechargeable", "rechargeable", "A built-in battery charges over USB-C in about three hours."),
            modifier("Dimmable", "dimmable", "Stepless dimming saves battery when full power is not needed."),
            modifier("Waterproof", "waterproof", "It is waterproof to IPX7, so rain and puddles are no problem."),
            modifier("Solar", "solar", "A small solar panel tops the battery up during the day."),
            modifier("Compact", "compact", "It is small enough to live in a pocket or a first-aid kit."),
        ],
        tags: &["camping", "running", "night", "emergency"],
    },
    CategorySpec {
        slug: "bottles",
        name: "Bottles",
        description: "Water bottles, flasks and filters for drinking on the go.",
        count: 24,
        brands: &["Tidewater", "Lumenra", "Basecamp Supply"],
        kinds: &[
            kind(
                "Water Bottle",
                "a one-litre water bottle with a loop cap that clips to a pack",
                (12, 34),
                Shape::Bottle,
            ),
            kind(
                "Insulated Bottle",
                "a double-walled insulated bottle that keeps drinks cold for 24 hours",
                (24, 49),
                Shape::Bottle,
            ),
            kind(
                "Vacuum Flask",
                "a vacuum flask that keeps tea hot through a long winter day",
                (29, 59),
                Shape::Bottle,
            ),
            kind(
                "Filter Bottle",
                "a filter bottle that makes stream water safe to drink as you sip",
                (34, 69),
                Shape::Bottle,
            ),
            kind("Sports Bottle", "a squeezable sports bottle with a fast-flow valve", (9, 24), Shape::Bottle),
        ],
        modifiers: &[
            modifier(
                "Stainless",
                "stainless-steel",
                "The stainless steel body leaves no taste, even after months of use.",
            ),
            modifier("BPA-Free", "bpa-free", "It is made from BPA-free materials throughout."),
            modifier("Leakproof", "leakproof", "A leakproof seal means it can ride in your bag next to a laptop."),
            modifier("Wide-Mouth", "wide-mouth", "The wide mouth takes ice cubes and is easy to clean."),
            modifier("Lightweight", "lightweight", "It is light enough to carry on every run and ride."),
        ],
        tags: &["hydration", "travel", "everyday", "dishwasher-safe"],
    },
    CategorySpec {
        slug: "socks",
        name: "Socks",
        description: "Hiking, running and ski socks that stay comfortable all day.",
        count: 26,
        brands: &["Cairn", "Fjellvik", "Woolhaven"],
        kinds: &[
            kind(
                "Hiking Socks",
                "a pair of hiking socks with cushioning under the heel and the ball of the foot",
                (14, 29),
                Shape::Sock,
            ),
            kind(
                "Running Socks",
                "a pair of running socks with a snug arch band and a seamless toe",
                (9, 22),
                Shape::Sock,
            ),
            kind(
                "Liner Socks",
                "a pair of thin liner socks that wick moisture and prevent blisters",
                (9, 19),
                Shape::Sock,
            ),
            kind(
                "Ski Socks",
                "a pair of knee-high ski socks with shin padding for boot comfort",
                (19, 34),
                Shape::Sock,
            ),
            kind("Crew Socks", "a pair of everyday crew socks for town, travel and the trail", (9, 21), Shape::Sock),
        ],
        modifiers: &[
            modifier("Merino", "merino", "Merino wool keeps feet warm, dry and odour-free for days."),
            modifier("Cushioned", "cushioned", "Extra padding protects the spots that take the most impact."),
            modifier("Lightweight", "lightweight", "A thin knit keeps feet cool in summer heat."),
            modifier("Midweight", "midweight", "A midweight knit balances warmth and breathability."),
            modifier("Recycled", "recycled", "They are knitted from recycled nylon and wool."),
        ],
        tags: &["hiking", "running", "everyday", "blister-free"],
    },
    CategorySpec {
        slug: "hats",
        name: "Hats",
        description: "Beanies and bobble hats for cold days in the hills and in town.",
        count: 24,
        brands: &["Fjellvik", "Wildmoor", "Woolhaven"],
        kinds: &[
            kind("Beanie", "a close-fitting beanie that sits neatly under a hood", (15, 35), Shape::Beanie),
            kind("Bobble Hat", "a classic bobble hat with a generous pom-pom", (19, 42), Shape::BobbleHat),
            kind("Watch Cap", "a rolled-cuff watch cap in a tight rib knit", (17, 36), Shape::Beanie),
            kind("Fisherman Beanie", "a short fisherman beanie that sits above the ears", (16, 32), Shape::Beanie),
            kind("Ski Hat", "a warm ski hat with a thick cuff and a pom-pom on top", (22, 45), Shape::BobbleHat),
        ],
        modifiers: &[
            modifier("Merino", "merino", "Merino wool keeps it warm without itching."),
            modifier("Fleece-Lined", "fleece-lined", "A fleece band inside keeps the wind off your ears."),
            modifier("Reflective", "reflective", "Reflective yarn catches headlights on dark evenings."),
            modifier("Recycled", "recycled", "It is knitted from recycled yarn."),
            modifier("Ribbed", "ribbed", "A deep rib knit stretches to fit every head."),
        ],
        tags: &["winter", "warm", "everyday", "knitwear"],
    },
];
