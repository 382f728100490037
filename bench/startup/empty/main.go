// Command empty does nothing: bench/run.sh times it as the start-up floor
// of any Go program on the machine.
package main

func main() {}
