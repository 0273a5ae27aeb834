//! How an event's JSON is kept in the `body` column: compressed with zstd against a dictionary.
//!
//! The disk's write bandwidth bounded the local ingest (bench/README.md, "Where the disk goes"): each
//! event's row is written twice, into the WAL and by the checkpoint into the database, and almost all
//! of a row is its JSON. An event's JSON is about 900 bytes and too short to compress well alone
//! (about 1.7×), but most of it (the member names, the enrichment's values, the page context's
//! shape) is the same from event to event. Compressed against a dictionary of such text, an event
//! takes about a third of its size (0.28 of the benchmark's events, 0.32 of the test's varied ones),
//! and the disk writes 2.2–2.5 times less per event (bench/README.md, "Bodies compressed").
//!
//! The stored forms, told apart by SQLite's storage class:
//! - `TEXT`: the JSON as it is (every row of a log written before this format, and still readable);
//! - `BLOB`: one format byte, then one zstd frame (with its content size) of the JSON. The format
//!   byte names the dictionary the frame was made with: `FORMAT_DICT_V1` for `DICT_V1`,
//!   `FORMAT_DICT_V2` for `DICT_V2`. New rows are written with `DICT_V2`; rows of format 1 still read.
//!
//! Each dictionary is part of the stored format: a row written with it can only be read with the
//! same bytes, so it must never change (a test pins each). A better dictionary is a new format byte
//! beside them, and the reader keeps them all.
//!
//! SQL reads the JSON through [`SQL_FUNCTION`] (`event_json(body)`), which every read connection of
//! the log registers; `json_extract(body, …)` on a `BLOB` fails ("malformed JSON").
//!
//! A log written in this format needs this version of Shopstream or a later one: an older build
//! cannot read its bodies.

use std::cell::RefCell;
use std::sync::LazyLock;

use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use zstd::bulk::{Compressor, Decompressor};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

/// The dictionary of format 1: enriched events as the ingest stores them, one JSON object per line:
/// the golden fixtures of `event-schema/fixtures/valid/`, each posted once to `shopstream serve`
/// with one of five browsers' user agents and read back with `shopstream events` (2026-11-22).
/// zstd uses it as raw content (text a frame may refer back to). The benchmark's batches were
/// modelled on the same fixtures, so they compress better than a real shop's events: see the test
/// `bodies_are_stored_in_a_fraction_of_their_json_and_read_back_exactly` for events unlike them.
pub(crate) const DICT_V1: &[u8] = include_bytes!("body-dict-v1.jsonl");
/// The format byte of a frame compressed against [`DICT_V1`].
pub(crate) const FORMAT_DICT_V1: u8 = 1;
/// The dictionary of format 2: [`DICT_V1`]'s text, the same bytes, behind a header of entropy tables
/// (zstd's dictionary format: magic number, id, Huffman and FSE tables). Without tables, zstd built
/// its tables anew for each short frame, about a third of its time per event; with them it reuses
/// the dictionary's. Frames are as small (0.278 of the benchmark's events with either), and made in
/// 0.68–0.75 of the time (bench/README.md, "The validator's tree, and format 2's dictionary").
///
/// Made once, with zstd 1.5.7's `ZDICT_finalizeDictionary`: content `DICT_V1`, samples the lines of
/// `DICT_V1`, `compressionLevel` 1, `dictID` 0 (zstd derives the id from the content's hash). The
/// same call gives the same bytes; a test checks that the content part is `DICT_V1`.
pub(crate) const DICT_V2: &[u8] = include_bytes!("body-dict-v2.zdict");
/// The format byte of a frame compressed against [`DICT_V2`], the format new rows are written in.
pub(crate) const FORMAT_DICT_V2: u8 = 2;
/// zstd's level for the bodies: -1, one of its fast levels. On the benchmark's events (939 bytes of
/// JSON) level 1 stored 227 bytes in 5.5 µs an event and read them back in 2.1 µs; -1 stores 261
/// bytes in 3.0 µs and reads them in 0.6 µs (bench/README.md). The ingest is short of CPU before it
/// is short of disk, so the faster level.
pub const BODY_ZSTD_LEVEL: i32 = -1;
/// The largest JSON a stored body may inflate to (far above any event the ingest accepts): a corrupt
/// or foreign frame that claims more is an error, not an allocation of its claim.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// The SQL function that gives a `body` as JSON text, whichever form it is stored in.
pub const SQL_FUNCTION: &str = "event_json";

static ENCODER: LazyLock<EncoderDictionary<'static>> =
    LazyLock::new(|| EncoderDictionary::copy(DICT_V2, BODY_ZSTD_LEVEL));
static DECODER_V1: LazyLock<DecoderDictionary<'static>> = LazyLock::new(|| DecoderDictionary::copy(DICT_V1));
static DECODER_V2: LazyLock<DecoderDictionary<'static>> = LazyLock::new(|| DecoderDictionary::copy(DICT_V2));

thread_local! {
    static COMPRESSOR: RefCell<Option<Compressor<'static>>> = const { RefCell::new(None) };
    /// One per format: a decompressor keeps the dictionary it was made with.
    static DECOMPRESSORS: RefCell<[Option<Decompressor<'static>>; 2]> = const { RefCell::new([None, None]) };
}

/// Why a stored body could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the stored body is an empty BLOB")]
    Empty,
    #[error("the stored body has the unknown format byte {0}")]
    UnknownFormat(u8),
    #[error("the stored body's frame does not say its size, or says more than {MAX_BODY_BYTES} bytes")]
    Size,
    #[error("the stored body does not decompress")]
    Zstd(#[source] std::io::Error),
    #[error("the stored body is not UTF-8 text")]
    Utf8(#[source] std::string::FromUtf8Error),
    #[error("the stored body is neither TEXT nor BLOB")]
    StorageClass,
}

/// `json` as it is stored: the format byte and its zstd frame.
pub(crate) fn pack(json: &[u8]) -> std::io::Result<Vec<u8>> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let compressor = match &mut *slot {
            Some(c) => c,
            empty => {
                let mut c = Compressor::with_prepared_dictionary(&ENCODER)?;
                // The format byte names the dictionary: the frame need not carry its 4-byte id.
                c.set_parameter(zstd::zstd_safe::CParameter::DictIdFlag(false))?;
                empty.insert(c)
            }
        };
        // The frame is written after the format byte, in place.
        let mut stored = std::io::Cursor::new(Vec::with_capacity(zstd::zstd_safe::compress_bound(json.len()) + 1));
        stored.get_mut().push(FORMAT_DICT_V2);
        stored.set_position(1);
        compressor.compress_to_buffer(json, &mut stored)?;
        Ok(stored.into_inner())
    })
}

/// The JSON of a stored body, in either form.
pub(crate) fn unpack(value: ValueRef<'_>) -> Result<String, BodyError> {
    match value {
        ValueRef::Text(text) => String::from_utf8(text.to_vec()).map_err(BodyError::Utf8),
        ValueRef::Blob(blob) => unpack_blob(blob),
        _ => Err(BodyError::StorageClass),
    }
}

fn unpack_blob(blob: &[u8]) -> Result<String, BodyError> {
    let (&format, frame) = blob.split_first().ok_or(BodyError::Empty)?;
    let (slot, dictionary) = match format {
        FORMAT_DICT_V1 => (0, &DECODER_V1),
        FORMAT_DICT_V2 => (1, &DECODER_V2),
        other => return Err(BodyError::UnknownFormat(other)),
    };
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(size)) if size <= MAX_BODY_BYTES as u64 => size as usize,
        _ => return Err(BodyError::Size),
    };
    let json = DECOMPRESSORS.with(|cell| {
        let mut slots = cell.borrow_mut();
        let decompressor = match &mut slots[slot] {
            Some(d) => d,
            empty => empty.insert(Decompressor::with_prepared_dictionary(dictionary).map_err(BodyError::Zstd)?),
        };
        decompressor.decompress(frame, size).map_err(BodyError::Zstd)
    })?;
    String::from_utf8(json).map_err(BodyError::Utf8)
}

/// What [`SqliteEventLog::read_after`](crate::SqliteEventLog::read_after) gives for a row whose body
/// cannot be read back (a damaged file), after logging it: a JSON object that is not an event,
/// `{"unreadable_body": {"seq": …, "error": "…"}}`.
pub fn unreadable(seq: i64, error: &BodyError) -> String {
    tracing::error!(seq, %error, "an event's stored body cannot be read back; it is handed on as a marker");
    serde_json::json!({"unreadable_body": {"seq": seq, "error": error.to_string()}}).to_string()
}

/// Registers [`SQL_FUNCTION`] on `conn`: the body's JSON text, or NULL for a body that cannot be
/// read back.
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        SQL_FUNCTION,
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_INNOCUOUS,
        // A damaged body is SQL NULL (and logged), so one bad row does not fail a whole query.
        |ctx| match unpack(ctx.get_raw(0)) {
            Ok(json) => Ok(Some(json)),
            Err(error) => {
                tracing::error!(%error, "an event's stored body cannot be read back; SQL reads it as NULL");
                Ok(None)
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_events() -> Vec<String> {
        DICT_V1
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| String::from_utf8(l.to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn a_packed_body_reads_back_as_the_same_json() {
        let json = r#"{"event_id":"x","type":"page_view","properties":{"note":"ünïcødé ✓"}}"#;
        let stored = pack(json.as_bytes()).unwrap();
        assert_eq!(stored[0], FORMAT_DICT_V2);
        assert_eq!(unpack(ValueRef::Blob(&stored)).unwrap(), json);
        assert_eq!(unpack(ValueRef::Text(json.as_bytes())).unwrap(), json);
        let empty = pack(b"").unwrap();
        assert_eq!(unpack(ValueRef::Blob(&empty)).unwrap(), "");
    }

    /// An event unlike the dictionary's still compresses (the member names and the enrichment's
    /// values are shared): the reason for the format.
    #[test]
    fn an_enriched_event_takes_a_fraction_of_its_json() {
        let json = r#"{"event_id":"01938a6e-55c1-7b2a-9d3e-4f5a6b7c8d9e","type":"product_view","occurred_at":"2026-11-22T18:04:31.125Z","anonymous_id":"7d0e4c1a-2b3f-4a5d-8e9f-0a1b2c3d4e5f","session_id":"c2b1a0f9-e8d7-4c6b-a5f4-e3d2c1b0a9f8","context":{"page":{"url":"https://boutique.example/products/linen-shirt-white","path":"/products/linen-shirt-white","referrer":"https://www.google.com/","title":"Linen Shirt, White | Boutique"},"locale":"fr-FR","screen":{"width":390,"height":844},"library":{"name":"shopstream-sdk","version":"0.1.0"}},"properties":{"sku":"LS-WHT-M","product_id":"linen-shirt","name":"Linen Shirt","category":"Shirts","brand":"Boutique","variant":"white / M","price":59.0,"currency":"EUR","quantity":1,"position":3,"url":"https://boutique.example/products/linen-shirt-white","image_url":"https://cdn.boutique.example/img/ls-wht.jpg"},"received_at":"2026-11-22T18:04:32.010Z","edge":{"ip_prefix":"198.51.100.0/24","browser":{"name":"Safari","version":"17.1"},"os":{"name":"iPhone","version":"17.1"},"device":"mobile","bot":false}}"#;
        let stored = pack(json.as_bytes()).unwrap();
        assert!(stored.len() * 5 < json.len() * 2, "{} bytes of JSON stored in {}", json.len(), stored.len());
        for event in fixture_events() {
            assert_eq!(unpack(ValueRef::Blob(&pack(event.as_bytes()).unwrap())).unwrap(), event);
        }
    }

    /// FNV-1a, 64 bits.
    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
    }

    /// Rows are read with the exact bytes they were written with: editing a dictionary would make
    /// every row of its format unreadable. A new dictionary is a new format byte.
    #[test]
    fn the_dictionaries_never_change() {
        assert_eq!((DICT_V1.len(), fnv1a(DICT_V1)), (18_875, 0x8381_6c26_7538_0843), "body-dict-v1.jsonl changed");
        assert_eq!((DICT_V2.len(), fnv1a(DICT_V2)), (19_021, 0x2e4c_e67f_9492_d8b0), "body-dict-v2.zdict changed");
    }

    /// Format 2's dictionary is zstd's dictionary format (its magic number first, so zstd reads the
    /// tables rather than taking the whole as text) ending in format 1's text.
    #[test]
    fn the_dictionary_of_format_2_is_format_1s_text_with_tables() {
        assert_eq!(DICT_V2[..4], 0xEC30_A437u32.to_le_bytes(), "zstd's dictionary magic number");
        assert!(DICT_V2.ends_with(DICT_V1));
        assert!(zstd::zstd_safe::get_dict_id_from_dict(DICT_V2).is_some());
        let json = fixture_events().pop().unwrap();
        let frame = zstd::bulk::Compressor::with_dictionary(BODY_ZSTD_LEVEL, DICT_V2)
            .unwrap()
            .compress(json.as_bytes())
            .unwrap();
        assert_eq!(unpack(ValueRef::Blob(&[&[FORMAT_DICT_V2], &frame[..]].concat())).unwrap(), json);
    }

    /// Rows of format 1 (written before format 2) still read back.
    #[test]
    fn a_body_of_format_1_still_reads_back() {
        for json in fixture_events() {
            let frame = zstd::bulk::Compressor::with_dictionary(BODY_ZSTD_LEVEL, DICT_V1)
                .unwrap()
                .compress(json.as_bytes())
                .unwrap();
            assert_eq!(unpack(ValueRef::Blob(&[&[FORMAT_DICT_V1], &frame[..]].concat())).unwrap(), json);
        }
    }

    #[test]
    fn a_damaged_body_is_an_error_not_a_panic() {
        let mut stored = pack(br#"{"a":1}"#).unwrap();
        assert!(matches!(unpack(ValueRef::Blob(&[])), Err(BodyError::Empty)));
        assert!(matches!(unpack(ValueRef::Blob(&[9, 1, 2])), Err(BodyError::UnknownFormat(9))));
        assert!(matches!(unpack(ValueRef::Blob(&[FORMAT_DICT_V1, 1, 2, 3])), Err(BodyError::Size)));
        assert!(matches!(unpack(ValueRef::Blob(&[FORMAT_DICT_V2, 1, 2, 3])), Err(BodyError::Size)));
        assert!(matches!(unpack(ValueRef::Integer(3)), Err(BodyError::StorageClass)));
        // A cut frame. (Frames carry no checksum: a flipped byte inside one may read back as other
        // text, as a damaged TEXT row would.)
        stored.truncate(stored.len() - 1);
        assert!(matches!(unpack(ValueRef::Blob(&stored)), Err(BodyError::Zstd(_))));
    }
}
