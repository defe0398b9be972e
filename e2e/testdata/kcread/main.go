// Command kcread is the yardstick of the warm-token benchmark: the least a Go program can do to
// hand out a stored token — start, read one secret from the keychain through go-keyring, print it.
package main

import (
	"fmt"
	"os"

	"github.com/zalando/go-keyring"
)

func main() {
	v, err := keyring.Get(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(v)
}
