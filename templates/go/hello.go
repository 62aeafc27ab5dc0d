// Proves the environment works: devenv run -- go run hello.go
package main

import (
	"fmt"
	"runtime"
)

func main() {
	fmt.Printf("hello from Go %s\n", runtime.Version())
}
