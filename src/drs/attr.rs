//! Well-known attributes and object classes: OIDs, lDAPDisplayNames and default-table ATTRTYPs
//! (MS-ADA1/MS-ADA3; the secret ones per MS-DRSR §4.1.10.2.20 and Samba's
//! `libcli/drsuapi/repl_decrypt.c`).

use std::fmt;

macro_rules! attrs {
    ($( $(#[$m:meta])* $v:ident = $oid:literal, $name:literal, $typ:literal; )*) => {
        /// An attribute this crate knows by OID (MS-ADA1, MS-ADA3).
        ///
        /// Replies name attributes by ATTRTYPs relative to their own prefix table; the decoder maps
        /// them to OIDs and then to this enum, so matching never depends on the default table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Attr {
            $( $(#[$m])* $v, )*
        }

        impl Attr {
            /// Every known attribute.
            pub const ALL: &'static [Attr] = &[$(Attr::$v,)*];

            /// The dotted OID.
            pub const fn oid(self) -> &'static str {
                match self { $(Attr::$v => $oid,)* }
            }

            /// The lDAPDisplayName.
            pub const fn ldap_name(self) -> &'static str {
                match self { $(Attr::$v => $name,)* }
            }

            /// The ATTRTYP under the default prefix table (MS-DRSR §5.16.4); informative only —
            /// replies are always mapped with their own `PrefixTableSrc`.
            pub const fn default_attrtyp(self) -> u32 {
                match self { $(Attr::$v => $typ,)* }
            }

            /// Looks an OID up.
            pub fn from_oid(oid: &str) -> Option<Attr> {
                match oid { $($oid => Some(Attr::$v),)* _ => None }
            }
        }
    };
}

attrs! {
    /// objectClass (2.5.5.2, values are class ATTRTYPs).
    ObjectClass = "2.5.4.0", "objectClass", 0x0000_0000;
    /// cn.
    Cn = "2.5.4.3", "cn", 0x0000_0003;
    /// sn.
    Sn = "2.5.4.4", "sn", 0x0000_0004;
    /// description.
    Description = "2.5.4.13", "description", 0x0000_000d;
    /// givenName.
    GivenName = "2.5.4.42", "givenName", 0x0000_002a;
    /// distinguishedName.
    DistinguishedName = "2.5.4.49", "distinguishedName", 0x0000_0031;
    /// instanceType.
    InstanceType = "1.2.840.113556.1.2.1", "instanceType", 0x0002_0001;
    /// whenCreated (DSTIME seconds).
    WhenCreated = "1.2.840.113556.1.2.2", "whenCreated", 0x0002_0002;
    /// whenChanged (DSTIME seconds).
    WhenChanged = "1.2.840.113556.1.2.3", "whenChanged", 0x0002_0003;
    /// displayName.
    DisplayName = "1.2.840.113556.1.2.13", "displayName", 0x0002_000d;
    /// isDeleted (BOOL).
    IsDeleted = "1.2.840.113556.1.2.48", "isDeleted", 0x0002_0030;
    /// isCriticalSystemObject (BOOL): Administrator, krbtgt, domain controllers.
    IsCriticalSystemObject = "1.2.840.113556.1.4.868", "isCriticalSystemObject", 0x0009_0364;
    /// proxyAddresses.
    ProxyAddresses = "1.2.840.113556.1.2.210", "proxyAddresses", 0x0002_00d2;
    /// nTSecurityDescriptor.
    NtSecurityDescriptor = "1.2.840.113556.1.2.281", "nTSecurityDescriptor", 0x0002_0119;
    /// name.
    Name = "1.2.840.113556.1.4.1", "name", 0x0009_0001;
    /// objectGUID.
    ObjectGuid = "1.2.840.113556.1.4.2", "objectGUID", 0x0009_0002;
    /// userAccountControl.
    UserAccountControl = "1.2.840.113556.1.4.8", "userAccountControl", 0x0009_0008;
    /// currentValue (LSA secret, encrypted).
    CurrentValue = "1.2.840.113556.1.4.27", "currentValue", 0x0009_001b;
    /// dBCSPwd (LM hash, encrypted + RID DES).
    DbcsPwd = "1.2.840.113556.1.4.55", "dBCSPwd", 0x0009_0037;
    /// unicodePwd (NT hash, encrypted + RID DES).
    UnicodePwd = "1.2.840.113556.1.4.90", "unicodePwd", 0x0009_005a;
    /// ntPwdHistory (encrypted + RID DES per entry).
    NtPwdHistory = "1.2.840.113556.1.4.94", "ntPwdHistory", 0x0009_005e;
    /// pwdLastSet (FILETIME).
    PwdLastSet = "1.2.840.113556.1.4.96", "pwdLastSet", 0x0009_0060;
    /// primaryGroupID.
    PrimaryGroupId = "1.2.840.113556.1.4.98", "primaryGroupID", 0x0009_0062;
    /// priorValue (LSA secret, encrypted).
    PriorValue = "1.2.840.113556.1.4.100", "priorValue", 0x0009_0064;
    /// supplementalCredentials (encrypted USER_PROPERTIES).
    SupplementalCredentials = "1.2.840.113556.1.4.125", "supplementalCredentials", 0x0009_007d;
    /// trustAuthIncoming (encrypted).
    TrustAuthIncoming = "1.2.840.113556.1.4.129", "trustAuthIncoming", 0x0009_0081;
    /// trustAuthOutgoing (encrypted).
    TrustAuthOutgoing = "1.2.840.113556.1.4.135", "trustAuthOutgoing", 0x0009_0087;
    /// objectSid.
    ObjectSid = "1.2.840.113556.1.4.146", "objectSid", 0x0009_0092;
    /// accountExpires (FILETIME).
    AccountExpires = "1.2.840.113556.1.4.159", "accountExpires", 0x0009_009f;
    /// lmPwdHistory (encrypted + RID DES per entry).
    LmPwdHistory = "1.2.840.113556.1.4.160", "lmPwdHistory", 0x0009_00a0;
    /// sAMAccountName.
    SamAccountName = "1.2.840.113556.1.4.221", "sAMAccountName", 0x0009_00dd;
    /// sAMAccountType.
    SamAccountType = "1.2.840.113556.1.4.302", "sAMAccountType", 0x0009_012e;
    /// initialAuthIncoming (encrypted).
    InitialAuthIncoming = "1.2.840.113556.1.4.539", "initialAuthIncoming", 0x0009_021b;
    /// initialAuthOutgoing (encrypted).
    InitialAuthOutgoing = "1.2.840.113556.1.4.540", "initialAuthOutgoing", 0x0009_021c;
    /// sIDHistory.
    SidHistory = "1.2.840.113556.1.4.609", "sIDHistory", 0x0009_0261;
    /// userPrincipalName.
    UserPrincipalName = "1.2.840.113556.1.4.656", "userPrincipalName", 0x0009_0290;
    /// lastKnownParent.
    LastKnownParent = "1.2.840.113556.1.4.781", "lastKnownParent", 0x0009_030d;
    /// objectCategory.
    ObjectCategory = "1.2.840.113556.1.4.782", "objectCategory", 0x0009_030e;
    /// mS-DS-ConsistencyGuid.
    MsDsConsistencyGuid = "1.2.840.113556.1.4.1360", "mS-DS-ConsistencyGuid", 0x0009_0550;
    /// msDS-SupportedEncryptionTypes.
    MsDsSupportedEncryptionTypes = "1.2.840.113556.1.4.1963", "msDS-SupportedEncryptionTypes", 0x0009_07ab;
    /// isRecycled (BOOL).
    IsRecycled = "1.2.840.113556.1.4.2058", "isRecycled", 0x0009_080a;
    /// mail.
    Mail = "0.9.2342.19200300.100.1.3", "mail", 0x0015_0003;
}

impl Attr {
    /// Whether values arrive as ENCRYPTED_PAYLOAD (MS-DRSR §4.1.10.2.20; Samba's list in
    /// `libcli/drsuapi/repl_decrypt.c`).
    pub const fn is_secret(self) -> bool {
        matches!(
            self,
            Attr::UnicodePwd
                | Attr::DbcsPwd
                | Attr::NtPwdHistory
                | Attr::LmPwdHistory
                | Attr::SupplementalCredentials
                | Attr::CurrentValue
                | Attr::PriorValue
                | Attr::TrustAuthIncoming
                | Attr::TrustAuthOutgoing
                | Attr::InitialAuthIncoming
                | Attr::InitialAuthOutgoing
        )
    }

    /// Whether the RID-keyed DES layer sits under the RC4 layer (MS-SAMR §2.2.11.1.3).
    pub const fn has_rid_layer(self) -> bool {
        matches!(
            self,
            Attr::UnicodePwd | Attr::DbcsPwd | Attr::NtPwdHistory | Attr::LmPwdHistory
        )
    }
}

impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ldap_name())
    }
}

/// Well-known structural and abstract classes: OID → lDAPDisplayName (MS-ADSC). Classes not
/// listed are reported as dotted OIDs.
const CLASSES: &[(&str, &str)] = &[
    ("2.5.6.0", "top"),
    ("2.5.6.2", "country"),
    ("2.5.6.4", "organization"),
    ("2.5.6.5", "organizationalUnit"),
    ("2.5.6.6", "person"),
    ("2.5.6.7", "organizationalPerson"),
    ("1.2.840.113556.1.3.23", "container"),
    ("1.2.840.113556.1.3.30", "computer"),
    ("1.2.840.113556.1.5.4", "builtinDomain"),
    ("1.2.840.113556.1.5.8", "group"),
    ("1.2.840.113556.1.5.9", "user"),
    ("1.2.840.113556.1.5.15", "contact"),
    ("1.2.840.113556.1.5.28", "secret"),
    ("1.2.840.113556.1.5.34", "trustedDomain"),
    ("1.2.840.113556.1.5.67", "domainDNS"),
    ("1.2.840.113556.1.5.76", "foreignSecurityPrincipal"),
    ("1.2.840.113556.1.5.264", "msDS-ManagedServiceAccount"),
    ("2.16.840.1.113730.3.2.2", "inetOrgPerson"),
];

/// The lDAPDisplayName of a well-known class OID.
pub fn class_name(oid: &str) -> Option<&'static str> {
    CLASSES.iter().find(|(o, _)| *o == oid).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(
            Attr::from_oid("1.2.840.113556.1.4.90"),
            Some(Attr::UnicodePwd)
        );
        assert_eq!(Attr::UnicodePwd.default_attrtyp(), 589914);
        assert_eq!(class_name("1.2.840.113556.1.5.9"), Some("user"));
        for a in Attr::ALL {
            assert_eq!(Attr::from_oid(a.oid()), Some(*a));
        }
    }
}
