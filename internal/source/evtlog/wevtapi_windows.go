package evtlog

// Raw wevtapi bindings, generated into zsyscall_windows.go (see the
// go:generate line in values.go). They report failures through
// GetLastError; BOOL results are tested on their low 32 bits.

// evtHandle is an EVT_HANDLE. Whoever receives one closes it with evtClose.
type evtHandle uintptr

//sys	evtSubscribe(session evtHandle, signalEvent windows.Handle, channelPath *uint16, query *uint16, bookmark evtHandle, context uintptr, callback uintptr, flags uint32) (handle evtHandle, err error) = wevtapi.EvtSubscribe
//sys	evtQuery(session evtHandle, path *uint16, query *uint16, flags uint32) (handle evtHandle, err error) = wevtapi.EvtQuery
//sys	evtNext(resultSet evtHandle, eventsSize uint32, events *evtHandle, timeout uint32, flags uint32, returned *uint32) (err error) = wevtapi.EvtNext
//sys	evtRender(context evtHandle, fragment evtHandle, flags uint32, bufferSize uint32, buffer unsafe.Pointer, bufferUsed *uint32, propertyCount *uint32) (err error) = wevtapi.EvtRender
//sys	evtCreateRenderContext(valuePathsCount uint32, valuePaths **uint16, flags uint32) (handle evtHandle, err error) = wevtapi.EvtCreateRenderContext
//sys	evtCreateBookmark(bookmarkXML *uint16) (handle evtHandle, err error) = wevtapi.EvtCreateBookmark
//sys	evtUpdateBookmark(bookmark evtHandle, event evtHandle) (err error) = wevtapi.EvtUpdateBookmark
//sys	evtClose(object evtHandle) (err error) = wevtapi.EvtClose

// winevt.h constants used here.
const (
	evtSubscribeToFutureEvents      = 1
	evtSubscribeStartAtOldestRecord = 2
	evtSubscribeStartAfterBookmark  = 3
	evtSubscribeStrict              = 0x10000

	evtQueryChannelPath      = 0x1
	evtQueryForwardDirection = 0x100
	evtQueryReverseDirection = 0x200

	evtRenderContextValues = 0
	evtRenderEventValues   = 0
	evtRenderEventXML      = 1
	evtRenderBookmark      = 2
)
