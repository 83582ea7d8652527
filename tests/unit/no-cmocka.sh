#!/bin/sh
# no-cmocka: stands in for the unit tests when configure did not find cmocka, so that `make check`
# fails loudly instead of passing without them.
echo "no-cmocka: the unit tests were not built: cmocka (>= 1.1) was not found at configure time." >&2
echo "no-cmocka: install the Debian package 'libcmocka-dev' and run configure again." >&2
exit 1
