package main

func init() {
	register(&command{name: "watch", summary: "show blocks live from the Security log and WFP net events (Windows) (not built yet)", run: notBuilt("watch")})
}
