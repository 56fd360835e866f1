"""The emulated eSMS API: the request path, validation against the spec, the behaviours of each
message family, delivery and callbacks."""
