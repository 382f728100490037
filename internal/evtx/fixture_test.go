package evtx

import (
	"encoding/binary"
	"hash/crc32"
	"unicode/utf16"
)

// This file builds small .evtx files from the documented format, for tests
// and fuzz seeds that do not depend on the shared samples.

// bx builds binary XML inside a chunk; len(b) is the chunk offset of the
// next byte.
type bx struct {
	b     []byte
	elems []elemMark // open elements, innermost last
}

// elemMark is where an open element's size fields are, to be filled in
// when it ends: Windows writes them and libevtx reads them (our reader
// does not need them).
type elemMark struct {
	sizeAt int // the element's data size field
	attrAt int // the attribute list size field, or -1
}

// closeAttrs fills in the attribute list size of the innermost element.
func (x *bx) closeAttrs() {
	m := &x.elems[len(x.elems)-1]
	if m.attrAt >= 0 {
		binary.LittleEndian.PutUint32(x.b[m.attrAt:], uint32(len(x.b)-m.attrAt-4))
		m.attrAt = -1
	}
}

// closeElem fills in the data size of the innermost element, which ends
// here, and forgets it.
func (x *bx) closeElem() {
	m := x.elems[len(x.elems)-1]
	x.elems = x.elems[:len(x.elems)-1]
	binary.LittleEndian.PutUint32(x.b[m.sizeAt:], uint32(len(x.b)-m.sizeAt-4))
}

func (x *bx) u8(v byte)    { x.b = append(x.b, v) }
func (x *bx) u16(v uint16) { x.b = binary.LittleEndian.AppendUint16(x.b, v) }
func (x *bx) u32(v uint32) { x.b = binary.LittleEndian.AppendUint32(x.b, v) }
func (x *bx) u64(v uint64) { x.b = binary.LittleEndian.AppendUint64(x.b, v) }

func utf16le(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

// name writes a name reference with the name inline.
func (x *bx) name(s string) {
	x.u32(uint32(len(x.b) + 4))
	x.u32(0)
	x.u16(0) // hash, unused by readers
	x.u16(uint16(len([]rune(s))))
	x.b = append(x.b, utf16le(s)...)
	x.u16(0)
}

func (x *bx) open(name string, attrs bool) {
	if attrs {
		x.u8(0x41)
	} else {
		x.u8(0x01)
	}
	x.u16(0xffff)
	m := elemMark{sizeAt: len(x.b), attrAt: -1}
	x.u32(0) // data size: filled in when the element ends
	x.name(name)
	if attrs {
		m.attrAt = len(x.b)
		x.u32(0) // attribute list size: filled in by closeStart/closeEmpty
	}
	x.elems = append(x.elems, m)
}

func (x *bx) attr(name string)    { x.u8(0x06); x.name(name) }
func (x *bx) closeStart()         { x.closeAttrs(); x.u8(0x02) }
func (x *bx) closeEmpty()         { x.closeAttrs(); x.u8(0x03); x.closeElem() }
func (x *bx) end()                { x.u8(0x04); x.closeElem() }
func (x *bx) eof()                { x.u8(0x00) }
func (x *bx) fragment()           { x.b = append(x.b, 0x0f, 1, 1, 0) }
func (x *bx) subst(i int, t byte) { x.u8(0x0d); x.u16(uint16(i)); x.u8(t) }
func (x *bx) opt(i int, t byte)   { x.u8(0x0e); x.u16(uint16(i)); x.u8(t) }
func (x *bx) text(s string) {
	x.u8(0x05)
	x.u8(0x01)
	x.u16(uint16(len(utf16.Encode([]rune(s)))))
	x.b = append(x.b, utf16le(s)...)
}

// elem writes <name>content</name> where content writes the content.
func (x *bx) elem(name string, content func()) {
	x.open(name, false)
	x.closeStart()
	content()
	x.end()
}

// templateInstance writes a template instance with its definition inline
// (def writes the fragment between the fragment header and EOF) and the
// given values.
func (x *bx) templateInstance(def func(), vals func() []value) {
	x.u8(0x0c)
	x.u8(1)
	x.u32(0x1234)
	x.u32(uint32(len(x.b) + 4))
	x.u32(0)                               // next template
	x.b = append(x.b, make([]byte, 16)...) // GUID
	sizeAt := len(x.b)
	x.u32(0)
	start := len(x.b)
	x.fragment()
	def()
	x.eof()
	binary.LittleEndian.PutUint32(x.b[sizeAt:], uint32(len(x.b)-start))
	x.values(vals())
}

// templateRef writes a template instance of a definition already in the
// chunk at defOff.
func (x *bx) templateRef(defOff int, vals []value) {
	x.u8(0x0c)
	x.u8(1)
	x.u32(0x1234)
	x.u32(uint32(defOff))
	x.values(vals)
}

func (x *bx) values(vals []value) {
	x.u32(uint32(len(vals)))
	for _, v := range vals {
		x.u16(uint16(len(v.b)))
		x.u8(v.typ)
		x.u8(0)
	}
	for _, v := range vals {
		x.b = append(x.b, v.b...)
	}
}

// chunkBuilder builds one chunk.
type chunkBuilder struct {
	x       bx
	first   uint64
	n       uint64
	lastOff int
}

func newChunk(firstID uint64) *chunkBuilder {
	c := &chunkBuilder{first: firstID}
	c.x.b = make([]byte, chunkHeaderSize)
	return c
}

// record appends a record whose binary XML body writes.
func (c *chunkBuilder) record(written uint64, body func(x *bx)) {
	x := &c.x
	start := len(x.b)
	x.b = append(x.b, recordMagic...)
	x.u32(0)
	x.u64(c.first + c.n)
	x.u64(written)
	x.fragment()
	body(x)
	x.eof()
	x.u32(0)
	size := len(x.b) - start
	binary.LittleEndian.PutUint32(x.b[start+4:], uint32(size))
	binary.LittleEndian.PutUint32(x.b[len(x.b)-4:], uint32(size))
	c.lastOff = start
	c.n++
}

// bytes finishes the chunk: header with checksums, padded to ChunkSize.
func (c *chunkBuilder) bytes() []byte {
	b := c.x.b
	free := len(b)
	copy(b, chunkMagic)
	binary.LittleEndian.PutUint64(b[8:], c.first)
	binary.LittleEndian.PutUint64(b[16:], c.first+c.n-1)
	binary.LittleEndian.PutUint64(b[24:], c.first)
	binary.LittleEndian.PutUint64(b[32:], c.first+c.n-1)
	binary.LittleEndian.PutUint32(b[40:], 128)
	binary.LittleEndian.PutUint32(b[44:], uint32(c.lastOff))
	binary.LittleEndian.PutUint32(b[48:], uint32(free))
	binary.LittleEndian.PutUint32(b[52:], crc32.ChecksumIEEE(b[chunkHeaderSize:free]))
	sum := crc32.ChecksumIEEE(b[:120])
	sum = crc32.Update(sum, crc32.IEEETable, b[128:512])
	binary.LittleEndian.PutUint32(b[124:], sum)
	out := make([]byte, ChunkSize)
	copy(out, b)
	return out
}

// fileOf wraps chunks in a file header.
func fileOf(chunks ...[]byte) []byte {
	h := make([]byte, FileHeaderSize)
	copy(h, fileMagic)
	binary.LittleEndian.PutUint64(h[16:], uint64(len(chunks)-1))
	binary.LittleEndian.PutUint32(h[32:], 128)
	binary.LittleEndian.PutUint16(h[36:], 1)
	binary.LittleEndian.PutUint16(h[38:], 3)
	binary.LittleEndian.PutUint16(h[40:], FileHeaderSize)
	binary.LittleEndian.PutUint16(h[42:], uint16(len(chunks)))
	binary.LittleEndian.PutUint32(h[124:], crc32.ChecksumIEEE(h[:120]))
	for _, c := range chunks {
		h = append(h, c...)
	}
	return h
}

func vU8(v uint8) value   { return value{typ: typeUint8, b: []byte{v}} }
func vU16(v uint16) value { return value{typ: typeUint16, b: binary.LittleEndian.AppendUint16(nil, v)} }
func vU32(v uint32) value { return value{typ: typeUint32, b: binary.LittleEndian.AppendUint32(nil, v)} }
func vU64(v uint64) value { return value{typ: typeUint64, b: binary.LittleEndian.AppendUint64(nil, v)} }
func vHex64(v uint64) value {
	return value{typ: typeHexInt64, b: binary.LittleEndian.AppendUint64(nil, v)}
}
func vFT(v uint64) value {
	return value{typ: typeFiletime, b: binary.LittleEndian.AppendUint64(nil, v)}
}
func vStr(s string) value { return value{typ: typeString, b: append(utf16le(s), 0, 0)} }
func vRaw(t byte, b ...byte) value {
	return value{typ: t, b: b}
}
func vNull() value { return value{typ: typeNull} }

// sidBytes encodes S-1-5-21-1-2-3-500.
var sidBytes = []byte{1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xf4, 1, 0, 0}

// wfpTemplate writes a 5157-style template: the System header and a flat
// EventData, with substitutions for every field.
func wfpTemplate(x *bx) {
	x.open("Event", true)
	x.attr("xmlns")
	x.text("http://schemas.microsoft.com/win/2004/08/events/event")
	x.closeStart()
	x.elem("System", func() {
		x.open("Provider", true)
		x.attr("Name")
		x.subst(0, typeString)
		x.attr("Guid")
		x.opt(1, typeGUID)
		x.closeEmpty()
		x.elem("EventID", func() { x.subst(2, typeUint16) })
		x.elem("Version", func() { x.subst(3, typeUint8) })
		x.elem("Keywords", func() { x.subst(4, typeHexInt64) })
		x.open("TimeCreated", true)
		x.attr("SystemTime")
		x.subst(5, typeFiletime)
		x.closeEmpty()
		x.elem("EventRecordID", func() { x.subst(6, typeUint64) })
		x.open("Correlation", true)
		x.attr("ActivityID")
		x.opt(7, typeGUID)
		x.closeEmpty()
		x.elem("Channel", func() { x.text("Security") })
		x.elem("Computer", func() { x.subst(8, typeString) })
		x.open("Security", true)
		x.attr("UserID")
		x.opt(9, typeSID)
		x.closeEmpty()
	})
	x.elem("EventData", func() {
		for i, n := range wfpFields {
			x.open("Data", true)
			x.attr("Name")
			x.text(n)
			x.closeStart()
			x.subst(10+i, typeString)
			x.end()
		}
	})
	x.end()
}

var wfpFields = []string{"ProcessID", "Application", "Direction", "SourceAddress", "SourcePort",
	"DestAddress", "DestPort", "Protocol", "FilterRTID", "LayerName", "LayerRTID",
	"RemoteUserID", "RemoteMachineID", "FilterOrigin", "InterfaceIndex"}

// wfpValues are the values of one 5157 record for wfpTemplate.
func wfpValues(id uint16, computer, app string) []value {
	guid := []byte{0x25, 0x96, 0x84, 0x54, 0x78, 0x54, 0x94, 0x49, 0xa5, 0xba, 0x3e, 0x3b, 0x03, 0x28, 0xc3, 0x0d}
	return []value{
		vStr("Microsoft-Windows-Security-Auditing"), vRaw(typeGUID, guid...), vU16(id), vU8(1),
		vHex64(0x8010000000000000), vFT(131117906743460000), vU64(4242), vNull(), vStr(computer), vNull(),
		vRaw(typeUint64, 4, 0, 0, 0, 0, 0, 0, 0), vStr(app), vStr("%%14593"), vStr("10.0.0.5"), vStr("50123"),
		vStr("192.0.2.7"), vStr("443"), vRaw(typeUint32, 6, 0, 0, 0), vRaw(typeUint64, 0x17, 0x08, 1, 0, 0, 0, 0, 0),
		vStr("%%14611"), vRaw(typeUint16, 48, 0), vRaw(typeSID, sidBytes...), vStr("S-1-0-0"),
		vStr("Query User Default"), vRaw(typeUint32, 12, 0, 0, 0),
	}
}

// fixtureFile returns a one-chunk file with: a 5157 record (template
// inline), a 5157 record reusing the template, a non-WFP record (4688)
// with the same template, and a record exercising every value type,
// entity and character references, CDATA and a nested BinXML value.
func fixtureFile() []byte {
	c := newChunk(100)
	var defOff int
	c.record(131117906743460000, func(x *bx) {
		defOff = len(x.b) + 10
		x.templateInstance(func() { wfpTemplate(x) }, func() []value {
			return wfpValues(5157, "host<&>'\"", `\device\harddiskvolume2\app\x.exe`)
		})
	})
	c.record(131117906743460001, func(x *bx) {
		x.templateRef(defOff, wfpValues(5157, "host2", "C:\\Windows\\System32\\svchost.exe"))
	})
	c.record(131117906743460002, func(x *bx) {
		x.templateRef(defOff, wfpValues(4688, "host3", "C:\\x.exe"))
	})
	c.record(131117906743460003, func(x *bx) {
		x.templateInstance(func() { typesTemplate(x) }, func() []value { return typesValues(x) })
	})
	return fileOf(c.bytes())
}

// typesTemplate writes an <Event> whose EventData has one item per value
// type, plus references, CDATA and a nested BinXML value.
func typesTemplate(x *bx) {
	x.open("Event", false)
	x.closeStart()
	x.elem("EventData", func() {
		for i := range typeNames {
			x.open("Data", true)
			x.attr("Name")
			x.text(typeNames[i])
			x.closeStart()
			x.subst(i, 0)
			x.end()
		}
		x.elem("Refs", func() {
			x.text("a")
			x.u8(0x08)
			x.u16(0x263a) // ☺
			x.u8(0x09)
			x.name("amp")
			x.u8(0x07)
			s := "x]]>y"
			x.u16(uint16(len(s)))
			x.b = append(x.b, utf16le(s)...)
		})
		x.elem("Nested", func() { x.subst(len(typeNames), typeBinXML) })
	})
	x.end()
}

var typeNames = []string{"Int8", "UInt8", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64",
	"Real32", "Real64", "Bool", "Binary", "GUID", "SizeT", "FileTime", "SysTime", "SID",
	"HexInt32", "HexInt64", "StringArray", "UInt16Array", "Ansi", "BadSurrogate", "Null"}

// typesWant is what Windows renders for typesValues, in typeNames order.
var typesWant = []string{"-2", "200", "-300", "65000", "-70000", "4000000000", "-5000000000",
	"18000000000000000000", "1.5", "-0.25", "true", "00FF10", "{54849625-5478-4994-A5BA-3E3B0328C30D}",
	"0x1000", "2016-06-30T20:04:34.3460000Z", "2016-06-29T15:24:34.3460000Z", "S-1-5-21-1-2-3-500",
	"0xc000006d", "0x3e7", "one,two", "1,2", "ansi", "a\ufffdb", ""}

func typesValues(x *bx) []value {
	le := binary.LittleEndian
	vals := []value{
		vRaw(typeInt8, 0xfe), vU8(200), vRaw(typeInt16, le.AppendUint16(nil, uint16(0x10000-300))...), vU16(65000),
		vRaw(typeInt32, le.AppendUint32(nil, uint32(0x100000000-70000))...), vU32(4000000000),
		vRaw(typeInt64, le.AppendUint64(nil, uint64(1<<64-5000000000))...), vU64(18000000000000000000),
		vRaw(typeReal32, 0, 0, 0xc0, 0x3f), vRaw(typeReal64, le.AppendUint64(nil, 0xbfd0000000000000)...),
		vRaw(typeBool, 1, 0, 0, 0), vRaw(typeBinary, 0, 0xff, 0x10),
		vRaw(typeGUID, 0x25, 0x96, 0x84, 0x54, 0x78, 0x54, 0x94, 0x49, 0xa5, 0xba, 0x3e, 0x3b, 0x03, 0x28, 0xc3, 0x0d),
		vRaw(typeSizeT, le.AppendUint64(nil, 0x1000)...), vFT(131117906743460000),
		vRaw(typeSystime, 0xe0, 0x07, 6, 0, 3, 0, 29, 0, 15, 0, 24, 0, 34, 0, 0x5a, 0x01),
		vRaw(typeSID, sidBytes...), vRaw(typeHexInt32, le.AppendUint32(nil, 0xc000006d)...), vHex64(0x3e7),
		vRaw(typeString|typeArray, append(append(utf16le("one"), 0, 0), append(utf16le("two"), 0, 0)...)...),
		vRaw(typeUint16|typeArray, 1, 0, 2, 0), vRaw(typeAnsi, 'a', 'n', 's', 'i', 0),
		vRaw(typeString, 'a', 0, 0x00, 0xd8, 'b', 0), vNull(),
	}
	// The nested value: a fragment holding a template instance. Its bytes
	// are built at the position they will have in the chunk, which is after
	// the value descriptors of this instance; build it in a scratch copy at
	// that offset.
	descEnd := len(x.b) + 4 + 4*(len(vals)+1)
	for _, v := range vals {
		descEnd += len(v.b)
	}
	n := &bx{b: make([]byte, descEnd)}
	n.fragment()
	n.templateInstance(func() {
		n.open("Inner", true)
		n.attr("Kind")
		n.opt(0, typeString)
		n.attr("Missing")
		n.opt(1, typeString)
		n.closeStart()
		n.subst(2, typeUint32)
		n.end()
	}, func() []value { return []value{vStr("nested"), vNull(), vU32(7)} })
	return append(vals, value{typ: typeBinXML, b: n.b[descEnd:]})
}
