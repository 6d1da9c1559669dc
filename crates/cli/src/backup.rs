//! `sitechat backup` and `sitechat restore`: the state of a data directory in one file, taken
//! while the server keeps running, and put back into a data directory that then serves the same
//! answers.
//!
//! A backup is a tar archive whose entries come in this order:
//! - `manifest.json`: the format (`sitechat-backup`, version 1), the sitechat version and
//!   database schema version that made it, when, and the size and SHA-256 of every other entry;
//! - `sitechat.db`: a consistent copy of the database (SQLite's `VACUUM INTO`, one read
//!   transaction: exactly the writes committed before the backup started);
//! - `secret.key`: the key that seals stored secrets (engine API keys, webhook secrets), without
//!   which they cannot be opened again;
//! - `admin-key.txt`, when the data directory has one: the operator key as first generated.
//!
//! The search indexes are left out: restore rebuilds them from the database, the source of truth.

use std::{
    fs::File,
    io::{BufReader, BufWriter, Read, Write},
    path::{Path, PathBuf},
};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sitechat_core::config::Config;
use sitechat_store::Store;

/// What `sitechat backup --help` adds after the options.
pub const BACKUP_HELP: &str = "\
The backup is one tar archive holding manifest.json (format, versions, creation time, checksums),
sitechat.db (a consistent copy of the database, taken with SQLite's VACUUM INTO while the server
keeps writing), secret.key (the key that seals engine API keys and webhook secrets) and
admin-key.txt when present. It is written to a temporary file beside FILE, then renamed, with
mode 0600: it holds secrets, keep it private. Search indexes are not included; `sitechat restore`
rebuilds them from the database.

Example (daily at 03:15, keeping 14 days):
  15 3 * * * sitechat backup --data-dir /var/lib/sitechat /backups/sitechat-$(date +\\%F).tar \\
             && find /backups -name 'sitechat-*.tar' -mtime +14 -delete";

/// What `sitechat restore --help` adds after the options.
pub const RESTORE_HELP: &str = "\
Stop the server that uses the data directory first. Restore checks the manifest and every entry's
checksum, checks the database (PRAGMA integrity_check), refuses a data directory that is not empty
unless --force is given (then its database, secret key, operator key file and indexes are
replaced; other files are left alone), installs the files with mode 0600, applies the migrations
of this sitechat if the backup is older, and rebuilds every bot's search index. Then start the
server on the directory: it answers at once.

Example:
  sitechat restore /backups/sitechat-2026-12-06.tar --data-dir /var/lib/sitechat";

const FORMAT: &str = "sitechat-backup";
const FORMAT_VERSION: u32 = 1;
const MANIFEST: &str = "manifest.json";
const DATABASE: &str = "sitechat.db";
const SECRET_KEY: &str = "secret.key";
const ADMIN_KEY: &str = "admin-key.txt";
/// Every entry a backup may hold besides the manifest; nothing else is ever unpacked.
const ENTRIES: [&str; 3] = [DATABASE, SECRET_KEY, ADMIN_KEY];
/// The files of a data directory a restore replaces (the database with its companions).
const REPLACED: [&str; 7] = [
    DATABASE,
    "sitechat.db-wal",
    "sitechat.db-shm",
    "sitechat.db-journal",
    SECRET_KEY,
    ADMIN_KEY,
    "index",
];
/// A manifest is a few hundred bytes; anything much larger is not one.
const MANIFEST_LIMIT: u64 = 64 * 1024;

/// The first entry of a backup.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    format_version: u32,
    sitechat_version: String,
    /// RFC 3339, UTC.
    created_at: String,
    schema_version: i64,
    files: Vec<Entry>,
}

/// One file of a backup, as the manifest describes it.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    name: String,
    bytes: u64,
    sha256: String,
}

/// Writes a backup of `data_dir` to `file` (see the module documentation), replacing an
/// existing file only with `force`.
pub async fn backup(data_dir: &Path, file: &Path, force: bool) -> anyhow::Result<()> {
    let database = data_dir.join(DATABASE);
    if !database.is_file() {
        bail!(
            "{} holds no database ({DATABASE}): is it the server's data directory? (--data-dir)",
            data_dir.display()
        );
    }
    let secret_key = read_secret_key(&data_dir.join(SECRET_KEY))?;
    let admin_key = match std::fs::read(data_dir.join(ADMIN_KEY)) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot read {}", data_dir.join(ADMIN_KEY).display()))
        }
    };
    if file.exists() && !force {
        bail!(
            "{} already exists: choose another file, or pass --force to replace it",
            file.display()
        );
    }
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    // Private scratch space beside the destination (same filesystem, so the rename is atomic).
    let scratch = tempfile::Builder::new()
        .prefix(".sitechat-backup-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    let copy = scratch.path().join(DATABASE);
    let copied = Store::backup_into(&database, &copy)
        .await
        .context("cannot copy the database")?;

    let mut files = vec![Entry {
        name: DATABASE.to_owned(),
        bytes: std::fs::metadata(&copy)?.len(),
        sha256: sha256_of_file(&copy)?,
    }];
    files.push(entry_of(SECRET_KEY, &secret_key));
    if let Some(admin_key) = &admin_key {
        files.push(entry_of(ADMIN_KEY, admin_key));
    }
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        format_version: FORMAT_VERSION,
        sitechat_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: sitechat_core::now()
            .format(&time::format_description::well_known::Rfc3339)
            .context("cannot format the time")?,
        schema_version: copied.schema_version,
        files,
    };

    // A named temporary file is created with mode 0600.
    let archive = tempfile::Builder::new()
        .prefix(".sitechat-backup-")
        .suffix(".partial")
        .tempfile_in(&parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    {
        let mut tar = tar::Builder::new(BufWriter::new(archive.as_file()));
        let json = serde_json::to_vec_pretty(&manifest)?;
        append(&mut tar, MANIFEST, json.len() as u64, json.as_slice())?;
        let db = File::open(&copy)?;
        append(&mut tar, DATABASE, manifest.files[0].bytes, db)?;
        append(
            &mut tar,
            SECRET_KEY,
            secret_key.len() as u64,
            secret_key.as_slice(),
        )?;
        if let Some(admin_key) = &admin_key {
            append(
                &mut tar,
                ADMIN_KEY,
                admin_key.len() as u64,
                admin_key.as_slice(),
            )?;
        }
        tar.into_inner()?.flush()?;
    }
    archive.as_file().sync_all()?;
    set_private(archive.path())?;
    let written = archive.as_file().metadata()?.len();
    let persisted = if force {
        archive.persist(file)
    } else {
        archive.persist_noclobber(file)
    };
    persisted
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", file.display()))?;

    println!(
        "backup written to {} ({}, database schema {}, {} files: {})",
        file.display(),
        human_bytes(written),
        manifest.schema_version,
        manifest.files.len(),
        manifest
            .files
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// Restores the backup in `file` into the configuration's data directory, then rebuilds the
/// search indexes (see [`RESTORE_HELP`]).
pub async fn restore(file: &Path, config: Config, force: bool) -> anyhow::Result<()> {
    let data_dir = config.data_dir.clone();
    let existing = names_in(&data_dir)?;
    if !existing.is_empty() && !force {
        bail!(
            "{} is not empty (it holds {}): restoring would replace them. Stop the server and pass \
             --force to replace them, or restore into an empty directory",
            data_dir.display(),
            existing.join(", ")
        );
    }
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".sitechat-restore-")
        .tempdir_in(&data_dir)
        .with_context(|| format!("cannot write in {}", data_dir.display()))?;
    let manifest = unpack(file, staging.path())?;
    read_secret_key(&staging.path().join(SECRET_KEY))
        .context("the backup's secret key is not usable")?;
    let checked = Store::check_file(&staging.path().join(DATABASE))
        .await
        .context("the backup's database is not usable")?;
    if checked.schema_version != manifest.schema_version {
        bail!(
            "the backup is inconsistent: its manifest says database schema {}, its database is at {}",
            manifest.schema_version,
            checked.schema_version
        );
    }

    for name in REPLACED {
        let path = data_dir.join(name);
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match removed {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => {}
        }
    }
    for entry in &manifest.files {
        let target = data_dir.join(&entry.name);
        std::fs::rename(staging.path().join(&entry.name), &target)
            .with_context(|| format!("cannot move {} into place", target.display()))?;
    }
    drop(staging);
    println!(
        "restored the backup of {} (sitechat {}, database schema {}) into {}",
        manifest.created_at,
        manifest.sitechat_version,
        manifest.schema_version,
        data_dir.display()
    );

    // Opening the state applies this build's migrations; the indexes come back from the database.
    let state = sitechat_server::open_state(config)
        .await
        .context("cannot open the restored data directory")?;
    let rebuilt =
        sitechat_server::services::knowledge::reconcile_indexes(&state.store, &state.index, true)
            .await
            .map_err(|e| anyhow::anyhow!("cannot rebuild the search indexes: {e}"))?;
    state.store.close().await;
    let passages: u64 = rebuilt.iter().map(|(_, n)| n).sum();
    println!(
        "rebuilt {} bot index(es) ({passages} passages); start the server with `sitechat serve --data-dir {}`",
        rebuilt.len(),
        data_dir.display()
    );
    Ok(())
}

/// Reads a backup: the manifest first, then each entry it lists into `into` (mode 0600),
/// checked against its size and checksum. Nothing outside the known entries is written.
fn unpack(file: &Path, into: &Path) -> anyhow::Result<Manifest> {
    let opened = File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    // Why a file is not a tar archive with our manifest says nothing useful: one plain sentence.
    let not_a_backup = || {
        format!(
            "{} is not a sitechat backup (made by `sitechat backup`)",
            file.display()
        )
    };
    let refuse = |_| anyhow::anyhow!(not_a_backup());
    let mut archive = tar::Archive::new(BufReader::new(opened));
    let mut entries = archive.entries().map_err(refuse)?;
    let manifest: Manifest = {
        let mut first = entries.next().with_context(not_a_backup)?.map_err(refuse)?;
        if first.path().ok().as_deref() != Some(Path::new(MANIFEST)) {
            bail!(not_a_backup());
        }
        let mut json = Vec::new();
        (&mut first)
            .take(MANIFEST_LIMIT)
            .read_to_end(&mut json)
            .map_err(refuse)?;
        serde_json::from_slice(&json).map_err(|_| anyhow::anyhow!(not_a_backup()))?
    };
    if manifest.format != FORMAT {
        bail!(not_a_backup());
    }
    if manifest.format_version > FORMAT_VERSION {
        bail!(
            "{} was made by a newer sitechat ({}, backup format {}); this one ({}) reads format {FORMAT_VERSION}",
            file.display(),
            manifest.sitechat_version,
            manifest.format_version,
            env!("CARGO_PKG_VERSION")
        );
    }
    let latest = Store::latest_schema_version();
    if manifest.schema_version > latest {
        bail!(
            "{} was made by a newer sitechat ({}, database schema {}); this one ({}) knows schema {latest}: restore it with sitechat {} or later",
            file.display(),
            manifest.sitechat_version,
            manifest.schema_version,
            env!("CARGO_PKG_VERSION"),
            manifest.sitechat_version
        );
    }
    for required in [DATABASE, SECRET_KEY] {
        if !manifest.files.iter().any(|f| f.name == required) {
            bail!("the backup is incomplete: it has no {required}");
        }
    }
    let mut seen = Vec::new();
    for entry in entries {
        let mut entry = entry.with_context(|| format!("{} is damaged", file.display()))?;
        let name = entry
            .path()
            .ok()
            .and_then(|p| p.to_str().map(str::to_owned))
            .unwrap_or_default();
        let Some(expected) = manifest.files.iter().find(|f| f.name == name) else {
            bail!("the backup holds an unexpected entry {name:?}");
        };
        if !ENTRIES.contains(&name.as_str()) || seen.contains(&name) {
            bail!("the backup holds an unexpected entry {name:?}");
        }
        let path = into.join(&name);
        let mut out = HashingWriter::new(BufWriter::new(create_private(&path)?));
        std::io::copy(&mut entry, &mut out)
            .with_context(|| format!("{} is damaged (reading {name})", file.display()))?;
        let (bytes, sha256) = out.finish()?;
        if bytes != expected.bytes || sha256 != expected.sha256 {
            bail!(
                "{} is damaged: {name} does not match the checksum in its manifest",
                file.display()
            );
        }
        seen.push(name);
    }
    for expected in &manifest.files {
        if !seen.contains(&expected.name) {
            bail!(
                "{} is incomplete: {} is missing (was the file cut short?)",
                file.display(),
                expected.name
            );
        }
    }
    Ok(manifest)
}

/// The names in `dir` (none when it does not exist).
fn names_in(dir: &Path) -> anyhow::Result<Vec<String>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            let mut names = entries
                .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
                .collect::<std::io::Result<Vec<_>>>()?;
            names.sort();
            Ok(names)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", dir.display())),
    }
}

fn read_secret_key(path: &Path) -> anyhow::Result<Vec<u8>> {
    let key = std::fs::read(path).with_context(|| {
        format!(
            "cannot read the secret key {} (the server makes it at its first start)",
            path.display()
        )
    })?;
    if key.len() != 32 {
        bail!("{} is not a 32-byte key", path.display());
    }
    Ok(key)
}

fn append(
    tar: &mut tar::Builder<impl Write>,
    name: &str,
    bytes: u64,
    data: impl Read,
) -> anyhow::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(bytes);
    header.set_mode(0o600);
    header.set_mtime(sitechat_core::now().unix_timestamp().max(0) as u64);
    tar.append_data(&mut header, name, data)
        .with_context(|| format!("cannot write {name} into the backup"))
}

fn entry_of(name: &str, bytes: &[u8]) -> Entry {
    Entry {
        name: name.to_owned(),
        bytes: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(bytes)),
    }
}

fn sha256_of_file(path: &Path) -> anyhow::Result<String> {
    let mut hasher = HashingWriter::new(std::io::sink());
    std::io::copy(&mut File::open(path)?, &mut hasher)?;
    Ok(hasher.finish()?.1)
}

/// Counts and hashes what goes through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Flushes, and gives the byte count and the hex SHA-256.
    fn finish(mut self) -> std::io::Result<(u64, String)> {
        self.inner.flush()?;
        Ok((self.bytes, hex::encode(self.hasher.finalize())))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(unix)]
fn create_private(path: &Path) -> anyhow::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> anyhow::Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(unix)]
fn set_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict {}", path.display()))
}

#[cfg(not(unix))]
fn set_private(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / f64::from(1u32 << 30)),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} bytes"),
    }
}
