// The name an enrolled device is known by in IKE: a DNS name the hub chooses, written into the device
// certificate as its subjectAltName dNSName, which the spoke sends as its ID_FQDN (docs/enrollment.md).
// An address cannot be the identity: behind NAT the hub sees a public address the spoke does not own
// (its IKE identity would be its private one), and an address the spoke claimed would let one enrollee
// name another's. The name holds the device key's id (SHA-256 of its SubjectPublicKeyInfo), so no
// request can choose it and no two keys get the same one, and the hostname, so a person reading
// `show crypto ikev2 sa detail` sees which spoke it is. It lives under `.invalid` (RFC 6761: never
// resolves, no one can register it), as it names a key, not a host anyone looks up.

/** the zone every device name is under */
export const DEVICE_NAME_DOMAIN = 'dmvpn.invalid';
/** hex digits of the key id in the name: 128 bits, so finding a key whose name is another's costs 2^128 */
export const DEVICE_NAME_KEY_HEX = 32;

/** the part of a device key's id (hex) that its name carries */
export const nameKeyPart = (key: string) => key.slice(0, DEVICE_NAME_KEY_HEX).toLowerCase();

/** device `key`'s name (hostname: the hub's choice for it, bindings.ts hostnameFor) */
export const deviceName = (hostname: string, key: string) => `${hostname.toLowerCase()}.${nameKeyPart(key)}.${DEVICE_NAME_DOMAIN}`;
