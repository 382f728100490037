package main

func init() {
	register(&command{name: "service", summary: "install or run wfpwatch as a Windows service (not built yet)", new: notBuilt("service")})
}
