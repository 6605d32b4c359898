// What a DNS name (RFC 1035 2.3.1 "preferred name syntax", digits allowed first as RFC 1123 2.1 lets
// host names start with one) looks like: labels of letters, digits and hyphens, 1-63 octets, neither
// starting nor ending with a hyphen, at most 253 octets in all. Enrollment discovery checks the domain a
// DHCP server hands out with it, and IKE an FQDN identity (a peer's ID_FQDN, `identity local fqdn`), so
// nothing with spaces, wildcards or control characters reaches a log, a certificate check or a config.

/** the longest name in its dotted text form (255 octets on the wire) */
export const MAX_DNS_NAME = 253;

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** `s` is a DNS name of at most `maxLength` characters */
export const isDnsName = (s: string, maxLength = MAX_DNS_NAME) => s.length > 0 && s.length <= maxLength && s.split('.').every((l) => LABEL.test(l));
