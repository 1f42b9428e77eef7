//! What a staff member may do (roles) and what an API token may do (scopes):
//! the access rights the store records and the routes require. Their own
//! file, so the store can name them without importing the accounts domain.

/// What a staff member may do; each role may do everything the ones below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Issues credentials (printed or as a wallet offer) and reads them.
    Clerk,
    /// Also revokes, suspends and reinstates.
    Supervisor,
    /// Also manages staff accounts and API tokens.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::Clerk, Role::Supervisor, Role::Admin];

    /// The stored and command-line name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// The role named `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s).ok_or_else(|| format!("unknown role {s:?} (clerk, supervisor or admin)"))
    }
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenScope {
    /// Issue credentials and offers, notarise, read issued credentials.
    Issue,
    /// Read and change credentials' status (revoke, suspend, reinstate, use).
    Status,
    /// Notarise documents and read their receipts, nothing else: the token an
    /// archive gets, which signs no credential and reads none. (`issue`
    /// tokens may notarise too.)
    Notarize,
    /// Everything (tokens made before scopes existed have this).
    All,
}

impl TokenScope {
    /// The stored and command-line name.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Issue => "issue",
            TokenScope::Status => "status",
            TokenScope::Notarize => "notarize",
            TokenScope::All => "all",
        }
    }

    /// The scope named `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        [TokenScope::Issue, TokenScope::Status, TokenScope::Notarize, TokenScope::All]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// Whether a token with this scope may use a route that needs `needed`.
    pub fn allows(self, needed: TokenScope) -> bool {
        self == TokenScope::All || self == needed || (self == TokenScope::Issue && needed == TokenScope::Notarize)
    }
}

impl std::str::FromStr for TokenScope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s).ok_or_else(|| format!("unknown scope {s:?} (issue, status, notarize or all)"))
    }
}
