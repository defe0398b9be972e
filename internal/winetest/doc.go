// Package winetest holds test-only workarounds for running the Windows test binaries under
// Wine (make test-wine, .ci/wine.sh). Test files import it for its side effect; it does nothing
// unless built with the "wine" tag for Windows, and then only when the process runs under Wine.
package winetest
