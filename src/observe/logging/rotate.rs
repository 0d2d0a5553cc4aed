//! A size-rotated log file with Python `RotatingFileHandler` semantics: when the next record would
//! take `file` past `max_bytes`, `file.N-1` → `file.N`, …, `file` → `file.1`, and a fresh `file`
//! is started; `file.N` for the oldest N is deleted. With `backups == 0` the file is truncated
//! instead. Records are never split across files; a record larger than `max_bytes` gets a file
//! of its own.
//!
//! Owned by the log writer thread alone, so it needs no locking.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The log file plus its rotation state.
#[derive(Debug)]
pub(crate) struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    backups: u32,
    out: BufWriter<File>,
    size: u64,
}

impl RotatingFile {
    /// Opens `path` for appending (creating it and its folders), continuing from its current size.
    pub fn open(path: &Path, max_bytes: u64, backups: u32) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path: path.to_path_buf(),
            max_bytes: max_bytes.max(1),
            backups,
            out: BufWriter::new(file),
            size,
        })
    }

    /// Appends one whole record, rotating first if it would not fit.
    pub fn write_record(&mut self, record: &[u8]) -> io::Result<()> {
        let len = u64::try_from(record.len()).unwrap_or(u64::MAX);
        if self.size > 0 && self.size.saturating_add(len) > self.max_bytes {
            self.rotate()?;
        }
        self.out.write_all(record)?;
        self.size = self.size.saturating_add(len);
        Ok(())
    }

    /// Pushes buffered records to the OS.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.out.flush()?;
        if self.backups > 0 {
            for i in (1..self.backups).rev() {
                let from = self.backup(i);
                if from.exists() {
                    // `rename` replaces the target, so the oldest backup falls off the end here.
                    fs::rename(&from, self.backup(i + 1))?;
                }
            }
            fs::rename(&self.path, self.backup(1))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&self.path)?;
        self.out = BufWriter::new(file);
        self.size = 0;
        Ok(())
    }

    fn backup(&self, index: u32) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{index}"));
        PathBuf::from(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap_or_default()
    }

    #[test]
    fn rotates_into_numbered_backups_and_drops_the_oldest() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("logs/gk.log");
        let mut file = RotatingFile::open(&path, 10, 2)?;
        for record in [
            "aaaa\n", "bbbb\n", "cccc\n", "dddd\n", "eeee\n", "ffff\n", "gggg\n",
        ] {
            file.write_record(record.as_bytes())?;
        }
        file.flush()?;
        assert_eq!(read(&path), "gggg\n");
        assert_eq!(read(&path.with_extension("log.1")), "eeee\nffff\n");
        assert_eq!(read(&path.with_extension("log.2")), "cccc\ndddd\n");
        assert!(!path.with_extension("log.3").exists());
        Ok(())
    }

    #[test]
    fn zero_backups_truncates_and_reopening_continues_the_size() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("gk.log");
        {
            let mut file = RotatingFile::open(&path, 12, 0)?;
            file.write_record(b"12345\n")?;
            file.flush()?;
        }
        let mut file = RotatingFile::open(&path, 12, 0)?;
        file.write_record(b"abcde\n")?;
        file.write_record(b"xyz\n")?;
        file.flush()?;
        assert_eq!(read(&path), "xyz\n");
        assert!(!path.with_extension("log.1").exists());
        Ok(())
    }

    #[test]
    fn an_oversized_record_gets_a_file_of_its_own() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("gk.log");
        let mut file = RotatingFile::open(&path, 4, 1)?;
        file.write_record(b"a\n")?;
        file.write_record(b"0123456789\n")?;
        file.flush()?;
        assert_eq!(read(&path), "0123456789\n");
        assert_eq!(read(&path.with_extension("log.1")), "a\n");
        Ok(())
    }
}
