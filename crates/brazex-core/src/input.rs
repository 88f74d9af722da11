//! Inputs of `brazex process`: files, directories (every regular file below them, in
//! byte order of the path) and standard input.

use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// One input stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
    /// Any byte stream (an HTTP download), read once.
    Stream(StreamInput),
    /// A source that can be read in ranges (an HTTP URL answering ranged requests):
    /// a zip's entries are then decoded side by side, as for a file.
    Ranged(RangedInput),
}

/// Bytes that can be read by range: a local file, or an HTTP URL whose server answers
/// `Range` requests.
pub trait RangeSource: Send + Sync {
    /// The size in bytes.
    fn size(&self) -> u64;
    /// A reader of the bytes in `range` (within `0..size()`).
    fn open_range(&self, range: Range<u64>) -> io::Result<Box<dyn Read + Send>>;
}

/// A [`RangeSource`] with the name it goes by in errors.
#[derive(Clone)]
pub struct RangedInput {
    label: Arc<str>,
    source: Arc<dyn RangeSource>,
}

impl RangedInput {
    pub fn new(label: impl Into<Arc<str>>, source: Arc<dyn RangeSource>) -> RangedInput {
        RangedInput {
            label: label.into(),
            source,
        }
    }

    pub fn source(&self) -> &Arc<dyn RangeSource> {
        &self.source
    }
}

impl std::fmt::Debug for RangedInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RangedInput").field(&self.label).finish()
    }
}

impl PartialEq for RangedInput {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.source, &other.source)
    }
}

impl Eq for RangedInput {}

/// A local file as a [`RangeSource`]: positioned reads, so ranges read side by side.
#[derive(Debug, Clone)]
pub struct FileRanges {
    file: Arc<File>,
    size: u64,
}

impl FileRanges {
    pub fn new(file: &File) -> io::Result<FileRanges> {
        Ok(FileRanges {
            size: file.metadata()?.len(),
            file: Arc::new(file.try_clone()?),
        })
    }
}

impl RangeSource for FileRanges {
    fn size(&self) -> u64 {
        self.size
    }

    fn open_range(&self, range: Range<u64>) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(FileRange {
            file: Arc::clone(&self.file),
            at: range.start,
            end: range.end,
        }))
    }
}

struct FileRange {
    file: Arc<File>,
    at: u64,
    end: u64,
}

impl Read for FileRange {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.at);
        let want = usize::try_from(left).map_or(buf.len(), |left| left.min(buf.len()));
        if want == 0 {
            return Ok(0);
        }
        let n = std::os::unix::fs::FileExt::read_at(&*self.file, &mut buf[..want], self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// A [`RangeSource`] as `Read + Seek`, for reading a zip's central directory: each
/// read is one range.
pub struct RangeSeek<'a> {
    source: &'a dyn RangeSource,
    at: u64,
}

impl<'a> RangeSeek<'a> {
    pub fn new(source: &'a dyn RangeSource) -> RangeSeek<'a> {
        RangeSeek { source, at: 0 }
    }
}

impl std::fmt::Debug for RangeSeek<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RangeSeek").field("at", &self.at).finish()
    }
}

impl Read for RangeSeek<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let end = self
            .at
            .saturating_add(buf.len() as u64)
            .min(self.source.size());
        if end <= self.at {
            return Ok(0);
        }
        let mut reader = self.source.open_range(self.at..end)?;
        let mut filled = 0;
        while filled < (end - self.at) as usize {
            let n = reader.read(&mut buf[filled..(end - self.at) as usize])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        self.at += filled as u64;
        Ok(filled)
    }
}

impl io::Seek for RangeSeek<'_> {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        let size = self.source.size();
        let at = match to {
            io::SeekFrom::Start(n) => Some(n),
            io::SeekFrom::End(d) => size.checked_add_signed(d),
            io::SeekFrom::Current(d) => self.at.checked_add_signed(d),
        };
        self.at = at.ok_or_else(|| io::Error::other("seek before the start"))?;
        Ok(self.at)
    }
}

/// A byte stream handed to the pipeline, with the name it goes by in errors.
#[derive(Clone)]
pub struct StreamInput {
    label: Arc<str>,
    reader: Arc<Mutex<Option<Box<dyn Read + Send>>>>,
    in_order: bool,
}

impl StreamInput {
    /// A stream of its own (an object's download): several such inputs are decoded
    /// side by side.
    pub fn new(label: impl Into<Arc<str>>, reader: Box<dyn Read + Send>) -> StreamInput {
        StreamInput {
            label: label.into(),
            reader: Arc::new(Mutex::new(Some(reader))),
            in_order: false,
        }
    }

    /// A stream that shares its source with the inputs around it (the entries of a
    /// spool read back through one cursor): it is read only after the inputs before
    /// it, never side by side with them.
    pub fn in_order(label: impl Into<Arc<str>>, reader: Box<dyn Read + Send>) -> StreamInput {
        StreamInput {
            in_order: true,
            ..StreamInput::new(label, reader)
        }
    }

    /// True when the stream must be read after the inputs before it.
    pub fn is_in_order(&self) -> bool {
        self.in_order
    }
}

impl std::fmt::Debug for StreamInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("StreamInput").field(&self.label).finish()
    }
}

impl PartialEq for StreamInput {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.reader, &other.reader)
    }
}

impl Eq for StreamInput {}

impl Input {
    /// How the input is named in errors and entry names.
    pub fn label(&self) -> Arc<str> {
        match self {
            Input::Stdin => Arc::from("<stdin>"),
            Input::File(path) => Arc::from(path.to_string_lossy().as_ref()),
            Input::Stream(stream) => stream.label.clone(),
            Input::Ranged(ranged) => ranged.label.clone(),
        }
    }

    /// Opens the input for reading; a file is returned as such so its central
    /// directory can be read.
    pub fn open(&self) -> Result<Opened> {
        match self {
            Input::Stdin => Ok(Opened::Stream(Box::new(io::stdin()))),
            Input::File(path) => File::open(path)
                .map(Opened::File)
                .map_err(|e| Error::io(format!("cannot open {}", path.display()), e)),
            Input::Stream(stream) => stream
                .reader
                .lock()
                .ok()
                .and_then(|mut reader| reader.take())
                .map(Opened::Stream)
                .ok_or_else(|| {
                    Error::io(
                        format!("cannot read {}", stream.label),
                        io::Error::other("the stream was already read"),
                    )
                }),
            Input::Ranged(ranged) => ranged
                .source
                .open_range(0..ranged.source.size())
                .map(Opened::Stream)
                .map_err(|e| Error::io(format!("cannot read {}", ranged.label), e)),
        }
    }
}

/// An opened input.
pub enum Opened {
    File(File),
    Stream(Box<dyn Read + Send>),
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Opened::File(file) => f.debug_tuple("File").field(file).finish(),
            Opened::Stream(_) => f.write_str("Stream"),
        }
    }
}

impl Read for Opened {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Opened::File(f) => f.read(buf),
            Opened::Stream(s) => s.read(buf),
        }
    }
}

/// A stream read twice, from its source once: returns a sampling input, which records
/// what it reads in a spool file, and a replaying input, which reads the spool back and
/// then goes on with the source. Type inference samples a stream's first rows through
/// the first; the run then reads the whole stream through the second. The spool (made
/// on the first bytes sampled, so streams never sampled hold no file open) holds only
/// what the sample read (about the compressed bytes of the first `--infer-rows` rows),
/// on disk, so memory stays bounded. Once the replay has begun the sample reads
/// nothing more.
pub fn sample_and_replay(input: &Input) -> Result<(Input, Input)> {
    let label = input.label();
    let source: Box<dyn Read + Send> = match input.open()? {
        Opened::Stream(stream) => stream,
        Opened::File(file) => Box::new(file),
    };
    let shared = Arc::new(Mutex::new(Spooled {
        source,
        spool: None,
        recorded: 0,
        replayed: 0,
        replaying: false,
    }));
    // Sampled or replayed, a stream that is read in order stays so.
    let in_order = matches!(input, Input::Stream(s) if s.in_order);
    let sample = StreamInput {
        in_order,
        ..StreamInput::new(label.clone(), Box::new(Sampler(Arc::clone(&shared))))
    };
    let replay = StreamInput {
        in_order,
        ..StreamInput::new(label, Box::new(Replayer(shared)))
    };
    Ok((Input::Stream(sample), Input::Stream(replay)))
}

struct Spooled {
    source: Box<dyn Read + Send>,
    /// Made on the first bytes sampled: a run of many streams samples only the first
    /// few, and the others must not each hold a file open.
    spool: Option<File>,
    /// Bytes read from the source into the spool.
    recorded: u64,
    /// Bytes of the spool read back.
    replayed: u64,
    replaying: bool,
}

fn lock(shared: &Mutex<Spooled>) -> io::Result<std::sync::MutexGuard<'_, Spooled>> {
    shared
        .lock()
        .map_err(|_| io::Error::other("a reader of this stream panicked"))
}

struct Sampler(Arc<Mutex<Spooled>>);

impl Read for Sampler {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut spooled = lock(&self.0)?;
        if spooled.replaying {
            return Ok(0);
        }
        let n = spooled.source.read(buf)?;
        if n > 0 {
            if spooled.spool.is_none() {
                spooled.spool = Some(tempfile::tempfile().map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("cannot create a spool file for type inference: {e}"),
                    )
                })?);
            }
            if let Some(spool) = spooled.spool.as_mut() {
                io::Write::write_all(spool, &buf[..n])?;
            }
        }
        spooled.recorded += n as u64;
        Ok(n)
    }
}

struct Replayer(Arc<Mutex<Spooled>>);

impl Read for Replayer {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut spooled = lock(&self.0)?;
        spooled.replaying = true;
        let left = spooled.recorded - spooled.replayed;
        if left == 0 {
            return spooled.source.read(buf);
        }
        let want = usize::try_from(left).map_or(buf.len(), |left| left.min(buf.len()));
        let Some(spool) = spooled.spool.as_ref() else {
            return Err(io::Error::other("a sampled stream has no spool"));
        };
        let n = std::os::unix::fs::FileExt::read_at(spool, &mut buf[..want], spooled.replayed)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the spool of the stream's first bytes is shorter than what was written",
            ));
        }
        spooled.replayed += n as u64;
        Ok(n)
    }
}

/// Expands the command line's inputs: `-` is standard input, a directory stands for
/// every regular file below it (recursively, sorted by path bytes), no input at all
/// means standard input.
pub fn expand(args: &[PathBuf]) -> Result<Vec<Input>> {
    if args.is_empty() {
        return Ok(vec![Input::Stdin]);
    }
    let mut inputs = Vec::new();
    for arg in args {
        if arg.as_os_str() == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        let meta = std::fs::metadata(arg)
            .map_err(|e| Error::io(format!("cannot read {}", arg.display()), e))?;
        if meta.is_dir() {
            let mut files = Vec::new();
            walk(arg, &mut files)?;
            files.sort_by(|a, b| {
                a.as_os_str()
                    .as_encoded_bytes()
                    .cmp(b.as_os_str().as_encoded_bytes())
            });
            inputs.extend(files.into_iter().map(Input::File));
        } else {
            inputs.push(Input::File(arg.clone()));
        }
    }
    Ok(inputs)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("cannot list {}", dir.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("cannot list {}", dir.display()), e))?;
        let path = entry.path();
        // file_type() does not follow links; metadata() does, so linked files count.
        let meta = std::fs::metadata(&path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        if meta.is_dir() {
            walk(&path, files)?;
        } else if meta.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_expand_recursively_in_path_byte_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/sub")).expect("mkdir");
        for f in ["b/sub/z.gz", "b/a.zip", "B.txt", "a.txt", "b/sub/a"] {
            std::fs::write(root.join(f), b"{}").expect("write");
        }
        let inputs = expand(&[root.to_path_buf()]).expect("expands");
        let names: Vec<String> = inputs
            .iter()
            .map(|i| match i {
                Input::File(p) => p
                    .strip_prefix(root)
                    .expect("below")
                    .to_string_lossy()
                    .into_owned(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            names,
            vec!["B.txt", "a.txt", "b/a.zip", "b/sub/a", "b/sub/z.gz"]
        );
        assert_eq!(expand(&[]).expect("stdin"), vec![Input::Stdin]);
        assert!(expand(&[root.join("missing")]).is_err());
    }
}
