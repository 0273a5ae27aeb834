//! Product pictograms: one flat SVG per product, drawn from its type's shape, filled with its colour
//! on a light tint of it, with an accent whose colour and position come from the SKU.

use std::fmt::Write;

use crate::{data, fnv1a, Product};

/// What a product looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    Shoe,
    Boot,
    Jacket,
    Backpack,
    Tent,
    SleepingBag,
    Pot,
    Mug,
    Headlamp,
    Lantern,
    Bottle,
    Sock,
    Beanie,
    BobbleHat,
    /// A price tag, for products outside the generated catalog.
    Tag,
}

/// Accent colours; one is picked per product, skipping any too close to its main colour.
const ACCENTS: [Rgb; 4] = [Rgb(0xf7, 0xf3, 0xe8), Rgb(0xf2, 0xb1, 0x34), Rgb(0xef, 0x6f, 0x3c), Rgb(0x5c, 0xc8, 0xc4)];
/// Used when a product's colour is not `#rrggbb`.
const FALLBACK: Rgb = Rgb(0x5b, 0x70, 0x83);
const WHITE: Rgb = Rgb(255, 255, 255);
const BLACK: Rgb = Rgb(0, 0, 0);
/// The warm light of lamps and lanterns.
const GLOW: &str = "#ffe58a";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rgb(u8, u8, u8);

impl Rgb {
    fn parse(hex: &str) -> Option<Rgb> {
        let digits = hex.strip_prefix('#').filter(|d| d.len() == 6 && d.bytes().all(|b| b.is_ascii_hexdigit()))?;
        let channel = |i: usize| u8::from_str_radix(&digits[i..i + 2], 16).ok();
        Some(Rgb(channel(0)?, channel(2)?, channel(4)?))
    }

    /// `self` moved towards `other` by `t` (0 = self, 1 = other).
    fn mix(self, other: Rgb, t: f32) -> Rgb {
        let m = |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * t).round() as u8;
        Rgb(m(self.0, other.0), m(self.1, other.1), m(self.2, other.2))
    }

    fn distance(self, other: Rgb) -> u32 {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).unsigned_abs();
        d(self.0, other.0) + d(self.1, other.1) + d(self.2, other.2)
    }

    fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// The colours one pictogram is drawn with.
struct Paint {
    main: String,
    dark: String,
    mid: String,
    light: String,
    accent: String,
}

/// The product's pictogram: a self-contained SVG (viewBox `0 0 400 300`, no external references,
/// `role="img"` with the product's name as its `<title>`), under 3 KB.
pub fn image_svg(p: &Product) -> String {
    let colour = Rgb::parse(&p.colour).unwrap_or(FALLBACK);
    let hash = fnv1a(&p.sku);
    let mut accent = ACCENTS[(hash % 4) as usize];
    if accent.distance(colour) < 150 {
        accent = ACCENTS[((hash + 1) % 4) as usize];
    }
    let paint = Paint {
        main: colour.hex(),
        dark: colour.mix(BLACK, 0.38).hex(),
        mid: colour.mix(BLACK, 0.18).hex(),
        light: colour.mix(WHITE, 0.5).hex(),
        accent: accent.hex(),
    };
    // Where the accent sits: one of three positions.
    let variant = ((hash >> 8) % 3) as i32;
    let mut svg = String::with_capacity(2048);
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300" width="400" height="300" role="img"><title>{}</title><rect width="400" height="300" fill="{}"/><ellipse cx="200" cy="250" rx="140" ry="12" fill="{}"/>"##,
        escape(&p.name),
        colour.mix(WHITE, 0.86).hex(),
        colour.mix(WHITE, 0.68).hex(),
    );
    // Ids unique per product, so pictograms can also be inlined side by side in one page.
    draw(&mut svg, shape_of(p), &paint, variant, &format!("{:x}", hash & 0xff_ffff));
    svg.push_str("</svg>");
    svg
}

/// The shape of the product's type, found by its category and the end of its name.
fn shape_of(p: &Product) -> Shape {
    let Some(spec) = data::CATEGORIES.iter().find(|c| c.slug == p.category_slug) else {
        return Shape::Tag;
    };
    spec.kinds.iter().find(|k| p.name.ends_with(k.noun)).unwrap_or(&spec.kinds[0]).shape
}

/// XML text escaping (also safe inside attributes).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn draw(svg: &mut String, shape: Shape, paint: &Paint, variant: i32, id: &str) {
    let Paint { main, dark, mid, light, accent } = paint;
    let v = variant;
    let _ = match shape {
        Shape::Shoe => write!(
            svg,
            r##"<path d="M78 214V132q0-16 16-16h40q14 0 19 12l9 22q8 16 26 19l78 13q56 9 66 32z" fill="{main}"/><path d="M82 114h56q8 0 8 8v4H82z" fill="{dark}"/><path d="M92 {y}q70-{d} 150 8" stroke="{accent}" stroke-width="13" fill="none" stroke-linecap="round"/><path d="M166 175l8-8M186 181l8-8M206 185l8-8" stroke="{light}" stroke-width="5" stroke-linecap="round"/><path d="M294 188q36 6 44 26h-52z" fill="{mid}"/><path d="M70 214h270q12 0 10 12l-2 6q-2 10-14 10H84q-14 0-14-14z" fill="{dark}"/>"##,
            y = 196 - 6 * v,
            d = 30 + 8 * v,
        ),
        Shape::Boot => write!(
            svg,
            r##"<path d="M86 214V90q0-12 12-12h54q12 0 12 12v64q4 16 24 20l74 12q58 10 68 28z" fill="{main}"/><path d="M84 76h82v16H84z" fill="{dark}"/><path d="M138 100h18M138 118h18M138 136h18" stroke="{light}" stroke-width="6" stroke-linecap="round"/><path d="M86 {y}h78" stroke="{accent}" stroke-width="12"/><path d="M296 190q34 6 42 24h-50z" fill="{mid}"/><path d="M76 214h264q12 0 10 12l-2 6q-2 10-14 10H90q-14 0-14-14z" fill="{dark}"/>"##,
            y = 164 + 14 * v,
        ),
        Shape::Jacket => write!(
            svg,
            r##"<path id="b{id}" d="M158 62h84l54 22q16 8 20 28l22 114-38 6-16-92v102H120V140l-16 92-38-6 22-114q4-20 20-28z" fill="{main}"/><clipPath id="c{id}"><use href="#b{id}"/></clipPath><path d="M60 {y}h280" stroke="{accent}" stroke-width="16" clip-path="url(#c{id})"/><path d="M158 62q42-24 84 0l-14 30q-28 14-56 0z" fill="{dark}"/><path d="M200 98v140M142 196l30-8M258 196l-30-8" stroke="{dark}" stroke-width="5" stroke-linecap="round"/><path d="M66 226l38 6-2 12-38-6zM334 226l-38 6 2 12 38-6zM120 230h160v12H120z" fill="{dark}"/>"##,
            y = 132 + 22 * v,
        ),
        Shape::Backpack => write!(
            svg,
            r##"<path d="M178 70q22-30 44 0" stroke="{dark}" stroke-width="10" fill="none"/><rect x="124" y="64" width="152" height="182" rx="40" fill="{main}"/><path d="M124 122v-18q0-40 40-40h72q40 0 40 40v18q-76 24-152 0z" fill="{dark}"/><path d="M164 126v34M236 126v34" stroke="{dark}" stroke-width="10"/><rect x="148" y="164" width="104" height="68" rx="18" fill="{mid}"/><path d="M{x1} 182h{w}" stroke="{accent}" stroke-width="6" stroke-linecap="round"/><path d="M112 150v70M288 150v70" stroke="{mid}" stroke-width="14" stroke-linecap="round"/>"##,
            x1 = 162 + 10 * v,
            w = 76 - 20 * v,
        ),
        Shape::Tent => write!(
            svg,
            r##"<path d="M52 248l36-50M348 248l-36-50" stroke="{dark}" stroke-width="3"/><path id="b{id}" d="M66 244C66 140 126 84 200 84s134 56 134 160z" fill="{main}"/><clipPath id="c{id}"><use href="#b{id}"/></clipPath><path d="M60 {y}h280" stroke="{accent}" stroke-width="14" clip-path="url(#c{id})"/><path d="M112 244Q200 4 288 244" stroke="{dark}" stroke-width="5" fill="none"/><path d="M154 244q0-92 46-96 46 4 46 96z" fill="{dark}"/><path d="M200 150v94" stroke="{light}" stroke-width="4"/><path d="M200 84v-14" stroke="{dark}" stroke-width="6" stroke-linecap="round"/>"##,
            y = 222 - 30 * v,
        ),
        Shape::SleepingBag => write!(
            svg,
            r##"<path id="b{id}" d="M62 150c0-46 36-58 86-58l152 18c34 4 46 22 46 40s-12 36-46 40l-152 18c-50 0-86-12-86-58z" fill="{main}"/><clipPath id="c{id}"><use href="#b{id}"/></clipPath><path d="M170 97q-12 53 0 106M214 102q-10 48 0 96M258 108q-8 42 0 84M300 113q-6 37 0 74" stroke="{mid}" stroke-width="5" fill="none"/><path d="M140 {y}l220 20" stroke="{accent}" stroke-width="7" clip-path="url(#c{id})"/><ellipse cx="112" cy="150" rx="32" ry="38" fill="{dark}"/><ellipse cx="118" cy="150" rx="17" ry="23" fill="{light}"/>"##,
            y = 104 + 34 * v,
        ),
        Shape::Pot => write!(
            svg,
            r##"<path d="M104 152H82q-10 0-10 10v10q0 10 10 10h22M296 152h22q10 0 10 10v10q0 10-10 10h-22" stroke="{dark}" stroke-width="10" fill="none"/><path d="M110 130h180v92q0 22-22 22H132q-22 0-22-22z" fill="{main}"/><path d="M110 {y}h180v14H110z" fill="{accent}"/><path d="M116 124q6-38 84-40 78 2 84 40z" fill="{mid}"/><rect x="102" y="120" width="196" height="14" rx="7" fill="{dark}"/><rect x="184" y="70" width="32" height="18" rx="7" fill="{dark}"/>"##,
            y = 160 + 24 * v,
        ),
        Shape::Mug => write!(
            svg,
            r##"<path d="M172 78q-12-16 0-32M202 78q-12-16 0-32M232 78q-12-16 0-32" stroke="{light}" stroke-width="7" fill="none" stroke-linecap="round"/><path d="M258 126h24q22 0 22 22v26q0 22-22 22h-24" stroke="{dark}" stroke-width="14" fill="none"/><path d="M130 100h132v116q0 28-28 28h-76q-28 0-28-28z" fill="{main}"/><path d="M130 {y}h132v16H130z" fill="{accent}"/><rect x="124" y="92" width="144" height="14" rx="7" fill="{dark}"/>"##,
            y = 130 + 30 * v,
        ),
        Shape::Headlamp => write!(
            svg,
            r##"<path d="M200 200L380 {b1}V{b2}z" fill="{GLOW}" opacity=".55"/><ellipse cx="176" cy="150" rx="132" ry="58" fill="none" stroke="{dark}" stroke-width="16"/><rect x="146" y="160" width="108" height="78" rx="22" fill="{main}"/><circle cx="200" cy="199" r="27" fill="{mid}"/><circle cx="200" cy="199" r="19" fill="{GLOW}"/><rect x="{bx}" y="150" width="24" height="12" rx="5" fill="{accent}"/>"##,
            b1 = 150 + 10 * v,
            b2 = 270 - 10 * v,
            bx = 160 + 28 * v,
        ),
        Shape::Lantern => write!(
            svg,
            r##"<circle cx="200" cy="162" r="98" fill="{GLOW}" opacity=".35"/><path d="M162 92q0-40 38-40t38 40" stroke="{dark}" stroke-width="8" fill="none"/><path d="M150 100q0-16 16-16h68q16 0 16 16v14H150z" fill="{main}"/><rect x="162" y="114" width="76" height="98" fill="#fff6d0"/><ellipse cx="200" cy="163" rx="15" ry="24" fill="#ffd23f"/><path d="M176 114v98M224 114v98" stroke="{main}" stroke-width="6"/><path d="M144 212h112v20q0 12-12 12h-88q-12 0-12-12z" fill="{main}"/><path d="M{x} 228h{w}" stroke="{accent}" stroke-width="6" stroke-linecap="round"/><rect x="150" y="104" width="100" height="10" fill="{dark}"/>"##,
            x = 168 + 12 * v,
            w = 64 - 24 * v,
        ),
        Shape::Bottle => write!(
            svg,
            r##"<circle cx="200" cy="44" r="13" fill="none" stroke="{dark}" stroke-width="7"/><path d="M176 86h48v12q30 12 30 42v86q0 20-20 20h-68q-20 0-20-20v-86q0-30 30-42z" fill="{main}"/><rect x="146" y="{y}" width="108" height="36" fill="{accent}"/><rect x="170" y="54" width="60" height="34" rx="8" fill="{dark}"/><rect x="160" y="136" width="12" height="90" rx="6" fill="#fff" opacity=".3"/>"##,
            y = 150 + 22 * v,
        ),
        Shape::Sock => write!(
            svg,
            r##"<g transform="translate(0 -16)"><path id="b{id}" d="M152 60h78v108q0 16 14 24l62 34q24 14 12 36-12 20-38 10l-104-40q-24-10-24-36z" fill="{main}"/><clipPath id="c{id}"><use href="#b{id}"/></clipPath><path d="M140 {y}h100m-100 20h100" stroke="{accent}" stroke-width="9" clip-path="url(#c{id})"/><path d="M152 192v4q0 26 24 36l10 4q12-38-34-44zM294 220l12 6q24 14 12 36-12 20-38 10l-10-4q32-18 24-48z" fill="{dark}"/><rect x="146" y="46" width="90" height="32" rx="6" fill="{dark}"/><path d="M150 62h82" stroke="{mid}" stroke-width="24" stroke-dasharray="4 7"/></g>"##,
            y = 100 + 20 * v,
        ),
        Shape::Beanie | Shape::BobbleHat => {
            let _ = write!(
                svg,
                r##"<path id="b{id}" d="M104 200c0-76 40-116 96-116s96 40 96 116z" fill="{main}"/><clipPath id="c{id}"><use href="#b{id}"/></clipPath><path d="M100 {y}h200" stroke="{accent}" stroke-width="14" clip-path="url(#c{id})"/><path d="M150 196q0-70 50-108M250 196q0-70-50-108M200 88v108" stroke="{mid}" stroke-width="4" fill="none"/><rect x="92" y="188" width="216" height="54" rx="14" fill="{dark}"/><path d="M104 215h192" stroke="{mid}" stroke-width="42" stroke-dasharray="5 9"/>"##,
                y = 170 - 22 * v,
            );
            if shape == Shape::BobbleHat {
                let _ = write!(svg, r##"<circle cx="200" cy="78" r="30" fill="{light}"/>"##);
            }
            Ok(())
        }
        Shape::Tag => write!(
            svg,
            r##"<path d="M120 80h110l70 70-90 90-90-90z" fill="{main}"/><circle cx="160" cy="120" r="14" fill="{light}"/><path d="M190 180l40-40" stroke="{accent}" stroke-width="10" stroke-linecap="round"/>"##,
        ),
    };
}
