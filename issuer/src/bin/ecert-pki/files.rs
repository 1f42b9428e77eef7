//! File writing for the PKI commands: atomic replacement, private files that
//! are never overwritten, and a directory lock.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};

/// Write `bytes` to `path`, replacing it atomically (a temporary file in the
/// same directory, then a rename): readers never see half a file.
///
/// # Errors
/// When the directory does not exist or cannot be written.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let temporary = temporary_sibling(path)?;
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Create `path` with mode 0600 (owner only) and write `bytes`; refuses to
/// overwrite an existing file.
///
/// # Errors
/// When the file exists or cannot be written.
pub fn create_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let result = (|| -> std::io::Result<()> {
        let mut file = open_private_new(path)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(error) = result {
        if error.kind() != std::io::ErrorKind::AlreadyExists {
            let _ = std::fs::remove_file(path);
        }
        return Err(error).with_context(|| format!("creating {}", path.display()));
    }
    Ok(())
}

#[cfg(unix)]
fn open_private_new(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn open_private_new(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)
}

/// Create a directory (and its parents) readable only by its owner when new.
///
/// # Errors
/// When it cannot be created.
pub fn create_private_dir(path: &Path) -> anyhow::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(path).with_context(|| format!("creating directory {}", path.display()))
}

/// `<dir>/.<name>.tmp-<pid>` next to `path`.
fn temporary_sibling(path: &Path) -> anyhow::Result<PathBuf> {
    let name = path.file_name().with_context(|| format!("{} is not a file path", path.display()))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(format!(".tmp-{}", std::process::id()));
    Ok(path.with_file_name(temporary_name))
}

/// Write a document to `out`, or to stdout when `out` is `None`.
///
/// # Errors
/// When the file cannot be written.
pub fn write_output(out: Option<&Path>, document: &str) -> anyhow::Result<()> {
    match out {
        Some(path) => write_atomically(path, document.as_bytes()),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(document.as_bytes()).and_then(|()| stdout.flush()).context("writing to stdout")
        }
    }
}

/// An exclusive lock on a directory: the file `<dir>/.lock`, created on
/// [`DirLock::acquire`] and removed on drop. Commands that read, change and
/// write a file of the directory hold it, so two operators cannot interleave.
#[derive(Debug)]
pub struct DirLock {
    path: PathBuf,
}

impl DirLock {
    /// Take the lock of `dir`.
    ///
    /// # Errors
    /// When another command holds it (or a crashed one left it behind).
    pub fn acquire(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(".lock");
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                let _ = writeln!(file, "{}", std::process::id());
                Ok(Self { path })
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                bail!(
                    "{} is locked by another `ecert-pki` command (pid {}); \
                     if none is running, delete {}",
                    dir.display(),
                    holder.trim(),
                    path.display()
                )
            }
            Err(error) => Err(error).with_context(|| format!("creating lock file {}", path.display())),
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
