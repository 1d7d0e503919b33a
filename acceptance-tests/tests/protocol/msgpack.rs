//! A tiny msgpack writer and reader, independent of the provider's codec so the tests can catch its bugs.

/// A msgpack value as the tests build and inspect it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Msgpack {
    /// `nil`: a null value.
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A UTF-8 string.
    Str(String),
    /// An array.
    Array(Vec<Msgpack>),
    /// A map with string keys, in the order written or read.
    Map(Vec<(String, Msgpack)>),
    /// An extension (cty marks unknown values with type 0).
    Ext(i8, Vec<u8>),
}

impl Msgpack {
    /// A string value.
    pub(crate) fn str(text: &str) -> Msgpack {
        Msgpack::Str(text.to_owned())
    }

    /// A map from `(key, value)` pairs, written in the order given.
    pub(crate) fn map<const N: usize>(entries: [(&str, Msgpack); N]) -> Msgpack {
        Msgpack::Map(
            entries
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value))
                .collect(),
        )
    }

    /// A list of strings.
    pub(crate) fn strings(items: &[&str]) -> Msgpack {
        Msgpack::Array(items.iter().map(|s| Msgpack::str(s)).collect())
    }

    /// The value's msgpack bytes, lengths in their shortest form as cty writes them.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Msgpack::Nil => out.push(0xc0),
            Msgpack::Bool(value) => out.push(if *value { 0xc3 } else { 0xc2 }),
            Msgpack::Int(value) => {
                out.push(0xd3);
                out.extend_from_slice(&value.to_be_bytes());
            }
            Msgpack::Str(text) => {
                write_length(out, text.len(), [0xa0, 0xd9, 0xda, 0xdb], 32);
                out.extend_from_slice(text.as_bytes());
            }
            Msgpack::Array(items) => {
                write_length(out, items.len(), [0x90, 0, 0xdc, 0xdd], 16);
                items.iter().for_each(|item| item.write(out));
            }
            Msgpack::Map(entries) => {
                write_length(out, entries.len(), [0x80, 0, 0xde, 0xdf], 16);
                for (key, value) in entries {
                    Msgpack::Str(key.clone()).write(out);
                    value.write(out);
                }
            }
            Msgpack::Ext(kind, data) => {
                out.extend_from_slice(&[0xc7, u8::try_from(data.len()).expect("short ext")]);
                out.push(kind.to_be_bytes()[0]);
                out.extend_from_slice(data);
            }
        }
    }

    /// Reads exactly one value from `bytes`; trailing bytes or unsupported markers are errors.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Msgpack, String> {
        let mut reader = Reader { bytes, at: 0 };
        let value = reader.value(0)?;
        if reader.at != bytes.len() {
            return Err(format!("{} bytes after the value", bytes.len() - reader.at));
        }
        Ok(value)
    }
}

/// Writes a length with the fix form's marker when below `fix_limit`, else the 8-, 16- or 32-bit
/// form; `markers` is `[fix, 8-bit (0 when the kind has none), 16-bit, 32-bit]`.
fn write_length(out: &mut Vec<u8>, length: usize, markers: [u8; 4], fix_limit: usize) {
    let [fix, bits8, bits16, bits32] = markers;
    if length < fix_limit {
        out.push(fix | u8::try_from(length).expect("below the fix limit"));
    } else if bits8 != 0 && length <= usize::from(u8::MAX) {
        out.extend_from_slice(&[bits8, u8::try_from(length).expect("fits u8")]);
    } else if let Ok(short) = u16::try_from(length) {
        out.push(bits16);
        out.extend_from_slice(&short.to_be_bytes());
    } else {
        out.push(bits32);
        let long = u32::try_from(length).expect("msgpack lengths fit u32");
        out.extend_from_slice(&long.to_be_bytes());
    }
}

/// A bounds-checked cursor over msgpack input.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, count: usize) -> Result<&[u8], String> {
        let end = self
            .at
            .checked_add(count)
            .filter(|end| *end <= self.bytes.len());
        let end = end.ok_or_else(|| format!("input ends inside a value at byte {}", self.at))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    /// A big-endian unsigned number of `width` bytes.
    fn unsigned(&mut self, width: usize) -> Result<u64, String> {
        Ok(self
            .take(width)?
            .iter()
            .fold(0, |acc, byte| (acc << 8) | u64::from(*byte)))
    }

    fn length(&mut self, width: usize) -> Result<usize, String> {
        usize::try_from(self.unsigned(width)?).map_err(|e| e.to_string())
    }

    fn value(&mut self, depth: usize) -> Result<Msgpack, String> {
        if depth > 64 {
            return Err("nested too deeply".to_owned());
        }
        let marker = self.byte()?;
        let value = match marker {
            0x00..=0x7f => Msgpack::Int(i64::from(marker)),
            0xe0..=0xff => Msgpack::Int(i64::from(i8::from_be_bytes([marker]))),
            0xc0 => Msgpack::Nil,
            0xc2 => Msgpack::Bool(false),
            0xc3 => Msgpack::Bool(true),
            0xcc..=0xcf => {
                let value = self.unsigned(1 << (marker - 0xcc))?;
                Msgpack::Int(i64::try_from(value).map_err(|e| e.to_string())?)
            }
            0xd0..=0xd3 => {
                let width = 1 << (marker - 0xd0);
                let raw = self.unsigned(width)?;
                let shift = 64 - 8 * width;
                // Sign-extend from `width` bytes.
                Msgpack::Int(i64::from_be_bytes((raw << shift).to_be_bytes()) >> shift)
            }
            0xa0..=0xbf => self.string(usize::from(marker & 0x1f))?,
            0xd9..=0xdb => {
                let length = self.length(1 << (marker - 0xd9))?;
                self.string(length)?
            }
            0x90..=0x9f => self.array(usize::from(marker & 0x0f), depth)?,
            0xdc | 0xdd => {
                let length = self.length(if marker == 0xdc { 2 } else { 4 })?;
                self.array(length, depth)?
            }
            0x80..=0x8f => self.map(usize::from(marker & 0x0f), depth)?,
            0xde | 0xdf => {
                let length = self.length(if marker == 0xde { 2 } else { 4 })?;
                self.map(length, depth)?
            }
            0xd4..=0xd8 => {
                let kind = i8::from_be_bytes([self.byte()?]);
                Msgpack::Ext(kind, self.take(1 << (marker - 0xd4))?.to_vec())
            }
            0xc7 => {
                let length = self.length(1)?;
                let kind = i8::from_be_bytes([self.byte()?]);
                Msgpack::Ext(kind, self.take(length)?.to_vec())
            }
            other => return Err(format!("unsupported marker {other:#04x}")),
        };
        Ok(value)
    }

    fn string(&mut self, length: usize) -> Result<Msgpack, String> {
        let bytes = self.take(length)?.to_vec();
        String::from_utf8(bytes)
            .map(Msgpack::Str)
            .map_err(|e| e.to_string())
    }

    fn array(&mut self, length: usize, depth: usize) -> Result<Msgpack, String> {
        (0..length)
            .map(|_| self.value(depth + 1))
            .collect::<Result<_, _>>()
            .map(Msgpack::Array)
    }

    fn map(&mut self, length: usize, depth: usize) -> Result<Msgpack, String> {
        let mut entries = Vec::new();
        for _ in 0..length {
            let Msgpack::Str(key) = self.value(depth + 1)? else {
                return Err("a map key is not a string".to_owned());
            };
            entries.push((key, self.value(depth + 1)?));
        }
        Ok(Msgpack::Map(entries))
    }
}

#[test]
fn the_test_codec_writes_shortest_forms_and_reads_them_back() {
    let value = Msgpack::map([
        ("a", Msgpack::Nil),
        ("list", Msgpack::strings(&["x"])),
        ("long", Msgpack::str(&"z".repeat(300))),
    ]);
    let bytes = value.encode();
    assert_eq!(&bytes[..4], &[0x83, 0xa1, b'a', 0xc0]);
    assert_eq!(&bytes[4..11], &[0xa4, b'l', b'i', b's', b't', 0x91, 0xa1]);
    assert_eq!(Msgpack::decode(&bytes), Ok(value));
    assert_eq!(Msgpack::decode(&[0xd0, 0xff]), Ok(Msgpack::Int(-1)));
    assert!(Msgpack::decode(&[0xc1]).is_err());
    assert!(Msgpack::decode(&[0xc0, 0xc0]).is_err());
}
