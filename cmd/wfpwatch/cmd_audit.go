package main

func init() {
	register(&command{name: "audit", summary: "show, enable, disable or restore the Filtering Platform audit policy (Windows) (not built yet)", run: notBuilt("audit")})
}
