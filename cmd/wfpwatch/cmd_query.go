package main

func init() {
	register(&command{name: "query", summary: "query the history database (not built yet)", run: notBuilt("query")})
}
