package main

func init() {
	register(&command{name: "fwlog", summary: "show or enable the Windows Firewall log (Windows) (not built yet)", run: notBuilt("fwlog")})
}
