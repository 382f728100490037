package main

func init() {
	register(&command{name: "evtx", summary: "dump every record of an .evtx file (not built yet)", run: notBuilt("evtx")})
}
