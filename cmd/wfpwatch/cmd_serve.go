package main

func init() {
	register(&command{name: "serve", summary: "serve the dashboard, API and /metrics (not built yet)", new: notBuilt("serve")})
}
