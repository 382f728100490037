// Command sqliteonly only links modernc.org/sqlite, as wfpwatch does for
// its history store: bench/run.sh times it to show what that dependency's
// package initialization adds to every wfpwatch process.
package main

import _ "modernc.org/sqlite"

func main() {}
