//! Finding the PKCS#11 library a URI names by `module-name` (RFC 7512 §2.3:
//! a library name without directory, prefix or suffix, e.g. `softhsm2`).
//!
//! Where modules are installed is the platform's business, so the lookup
//! follows what the system's PKCS#11 tooling (p11-kit) does:
//! 1. the standard module directory — on Debian-style systems
//!    `/usr/lib/<arch>-linux-gnu/pkcs11`, else `/usr/lib64/pkcs11`,
//!    `/usr/lib/pkcs11` — holding `lib<name>.so` or `<name>.so`;
//! 2. a p11-kit registration `<name>.module` in `/etc/pkcs11/modules` or
//!    `/usr/share/p11-kit/modules`, whose `module:` line names the file (a
//!    relative one in the standard module directory). Debian's `softhsm2`
//!    registers itself this way.
//!
//! `ECERT_PKCS11_MODULE_DIR` (directories separated by `:`) replaces both:
//! only those directories are searched, for the library files.

use std::path::{Path, PathBuf};

/// Directories to search instead of the standard ones (`:`-separated).
pub const MODULE_DIR_ENV: &str = "ECERT_PKCS11_MODULE_DIR";

/// Largest p11-kit registration file read (they are a few lines).
const MAX_REGISTRATION_BYTES: u64 = 64 * 1024;

/// Where PKCS#11 modules are looked for, and where they are registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSearch {
    /// Directories holding module libraries, searched in order.
    pub module_dirs: Vec<PathBuf>,
    /// Directories of p11-kit `<name>.module` registrations, searched in order.
    pub registration_dirs: Vec<PathBuf>,
}

impl ModuleSearch {
    /// The system's search: [`MODULE_DIR_ENV`] if set, else the standard
    /// directories of this platform.
    pub fn system() -> Self {
        if let Some(dirs) = std::env::var_os(MODULE_DIR_ENV).filter(|d| !d.is_empty()) {
            return Self { module_dirs: std::env::split_paths(&dirs).collect(), registration_dirs: Vec::new() };
        }
        let multiarch = format!("/usr/lib/{}-linux-gnu/pkcs11", std::env::consts::ARCH);
        Self {
            module_dirs: [multiarch.as_str(), "/usr/lib64/pkcs11", "/usr/lib/pkcs11"]
                .iter()
                .map(PathBuf::from)
                .collect(),
            registration_dirs: ["/etc/pkcs11/modules", "/usr/share/p11-kit/modules"]
                .iter()
                .map(PathBuf::from)
                .collect(),
        }
    }

    /// The library file of module `name` (already checked to be a bare name).
    ///
    /// # Errors
    /// A message naming where it looked when no module of that name is found.
    pub fn find(&self, name: &str) -> Result<PathBuf, String> {
        let files = [
            format!("{}{name}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX),
            format!("{name}{}", std::env::consts::DLL_SUFFIX),
        ];
        for dir in &self.module_dirs {
            if let Some(found) = files.iter().map(|file| dir.join(file)).find(|path| path.is_file()) {
                return Ok(found);
            }
        }
        for dir in &self.registration_dirs {
            let registration = dir.join(format!("{name}.module"));
            if registration.is_file() {
                return self.registered_module(&registration);
            }
        }
        let places = |dirs: &[PathBuf]| dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ");
        let mut message = format!("no PKCS#11 module named `{name}` in {}", places(&self.module_dirs));
        if !self.registration_dirs.is_empty() {
            message.push_str(&format!(" nor registered in {}", places(&self.registration_dirs)));
        }
        message.push_str(": give the library file with `module-path`");
        Err(message)
    }

    /// The `module:` file of a p11-kit registration.
    fn registered_module(&self, registration: &Path) -> Result<PathBuf, String> {
        let shown = registration.display();
        let too_big = std::fs::metadata(registration).map_or(true, |m| m.len() > MAX_REGISTRATION_BYTES);
        if too_big {
            return Err(format!("the p11-kit registration {shown} is unreadable or larger than 64 KiB"));
        }
        let text = std::fs::read_to_string(registration).map_err(|e| format!("reading {shown}: {e}"))?;
        let module = text
            .lines()
            .filter_map(|line| line.trim().strip_prefix("module:"))
            .map(str::trim)
            .next_back()
            .filter(|m| !m.is_empty())
            .ok_or_else(|| format!("the p11-kit registration {shown} has no `module:` line"))?;
        let path = Path::new(module);
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            let dir =
                self.module_dirs.first().ok_or_else(|| format!("{shown}: a relative module and no module dir"))?;
            dir.join(path)
        };
        if path.is_file() {
            Ok(path)
        } else {
            Err(format!("{shown} registers {}, which does not exist", path.display()))
        }
    }
}

/// The library file of module `name`, searched as [`ModuleSearch::system`] says.
///
/// # Errors
/// As [`ModuleSearch::find`].
pub fn find_module(name: &str) -> Result<PathBuf, String> {
    ModuleSearch::system().find(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"not really a library").unwrap();
    }

    #[test]
    fn a_library_in_the_module_directory_is_found_with_or_without_lib() {
        let root = tempfile::tempdir().unwrap();
        let (first, second) = (root.path().join("first"), root.path().join("second"));
        touch(&second.join("libvendorhsm.so"));
        touch(&second.join("plain.so"));
        let search = ModuleSearch { module_dirs: vec![first.clone(), second.clone()], registration_dirs: vec![] };
        assert_eq!(search.find("vendorhsm").unwrap(), second.join("libvendorhsm.so"));
        assert_eq!(search.find("plain").unwrap(), second.join("plain.so"));
        // The first directory that has it wins.
        touch(&first.join("libvendorhsm.so"));
        assert_eq!(search.find("vendorhsm").unwrap(), first.join("libvendorhsm.so"));
        let message = search.find("absent").unwrap_err();
        assert!(message.contains("no PKCS#11 module named `absent`"), "{message}");
        assert!(message.contains(&first.display().to_string()) && message.contains("module-path"), "{message}");
    }

    #[test]
    fn a_p11_kit_registration_names_the_library() {
        let root = tempfile::tempdir().unwrap();
        let (modules, registrations) = (root.path().join("pkcs11"), root.path().join("modules"));
        touch(&root.path().join("softhsm/libsofthsm2.so"));
        touch(&modules.join("opensc-pkcs11.so"));
        std::fs::create_dir_all(&registrations).unwrap();
        let absolute = root.path().join("softhsm/libsofthsm2.so");
        std::fs::write(registrations.join("softhsm2.module"), format!("# comment\nmodule: {}\n", absolute.display()))
            .unwrap();
        std::fs::write(registrations.join("opensc.module"), "module: opensc-pkcs11.so\n").unwrap();
        std::fs::write(registrations.join("empty.module"), "critical: yes\n").unwrap();
        std::fs::write(registrations.join("gone.module"), "module: /nonexistent/libgone.so\n").unwrap();
        std::fs::write(registrations.join("huge.module"), "#".repeat(70 * 1024)).unwrap();
        let search = ModuleSearch { module_dirs: vec![modules.clone()], registration_dirs: vec![registrations] };
        assert_eq!(search.find("softhsm2").unwrap(), absolute);
        assert_eq!(search.find("opensc").unwrap(), modules.join("opensc-pkcs11.so"));
        assert!(search.find("empty").unwrap_err().contains("no `module:` line"));
        assert!(search.find("gone").unwrap_err().contains("does not exist"));
        assert!(search.find("huge").unwrap_err().contains("larger than 64 KiB"));
        assert!(search.find("other").unwrap_err().contains("nor registered in"));
    }
}
