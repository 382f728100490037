package main

func init() {
	register(&command{name: "selftest", summary: "prove end to end that blocks are seen (Windows) (not built yet)", run: notBuilt("selftest")})
}
