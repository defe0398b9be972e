package ipc

// Under Wine, t.TempDir's clean-up needs a workaround (internal/winetest; .ci/wine.sh builds the
// tests with -tags wine). Without that tag this import does nothing.
import _ "github.com/homeytray/homeytray/internal/winetest"
