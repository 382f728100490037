/*
 * wfpwatch_sdk.h: Windows SDK declarations that mingw-w64 10 (Debian 12)
 * lacks, for the wfpwatch Windows ABI bench (docs/winbench.md).
 *
 * mingw-w64's fwpmtypes.h/fwpmu.h stop at Windows 7: FWPM_NET_EVENT_HEADER0/1,
 * FWPM_NET_EVENT0/1, FWPM_NET_EVENT_CLASSIFY_DROP0/1, FWPM_SESSION0 and
 * FWPM_NET_EVENT_SUBSCRIPTION0 are there; everything newer is declared here,
 * field by field from Microsoft's documented definitions (learn.microsoft.com,
 * "fwpmtypes.h" and "fwpmu.h" reference pages; the SDK's fwpmtypes.h is
 * generated from Fwpmtypes.idl with the same members). AUDIT_POLICY_INFORMATION
 * (ntsecapi.h) and EVT_VARIANT (winevt.h) are in mingw-w64 and not repeated.
 *
 * Used by the layout check (internal/winbench/layoutcheck) and by the fake
 * DLLs (internal/winbench/fakes/<dll>/), which are compiled with
 * -I internal/winbench/include. Include it after <windows.h> and <fwpmu.h>.
 *
 * Sizes on x64 (and arm64) are pinned below with _Static_assert; the numbers
 * are those in ../../../docs/winbench.md and WINDOWS-FACTS.md. If a newer
 * mingw-w64 declares one of these types itself, the compiler reports a
 * redefinition: delete the declaration here and keep the size assertion.
 */
#ifndef WFPWATCH_SDK_H
#define WFPWATCH_SDK_H

#include <windows.h>
#include <fwpmu.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- constants (fwpmtypes.h, fwptypes.h) ---------------------------- */

/* FWPM_NET_EVENT_HEADERn.flags */
#ifndef FWPM_NET_EVENT_FLAG_IP_PROTOCOL_SET
#define FWPM_NET_EVENT_FLAG_IP_PROTOCOL_SET    0x00000001
#define FWPM_NET_EVENT_FLAG_LOCAL_ADDR_SET     0x00000002
#define FWPM_NET_EVENT_FLAG_REMOTE_ADDR_SET    0x00000004
#define FWPM_NET_EVENT_FLAG_LOCAL_PORT_SET     0x00000008
#define FWPM_NET_EVENT_FLAG_REMOTE_PORT_SET    0x00000010
#define FWPM_NET_EVENT_FLAG_APP_ID_SET         0x00000020
#define FWPM_NET_EVENT_FLAG_USER_ID_SET        0x00000040
#define FWPM_NET_EVENT_FLAG_SCOPE_ID_SET       0x00000080
#define FWPM_NET_EVENT_FLAG_IP_VERSION_SET     0x00000100
#define FWPM_NET_EVENT_FLAG_REAUTH_REASON_SET  0x00000200
#define FWPM_NET_EVENT_FLAG_PACKAGE_ID_SET     0x00000400
#define FWPM_NET_EVENT_FLAG_ENTERPRISE_ID_SET  0x00000800
#define FWPM_NET_EVENT_FLAG_POLICY_FLAGS_SET   0x00001000
#define FWPM_NET_EVENT_FLAG_EFFECTIVE_NAME_SET 0x00002000
#endif

/* FWPM_NET_EVENT_TYPE values after FWPM_NET_EVENT_TYPE_IPSEC_DOSP_DROP (5),
 * which mingw's enum ends with (its FWPM_NET_EVENT_TYPE_MAX is 6, the SDK's
 * is 11). */
#define FWPM_NET_EVENT_TYPE_CLASSIFY_ALLOW     6
#define FWPM_NET_EVENT_TYPE_CAPABILITY_DROP    7
#define FWPM_NET_EVENT_TYPE_CAPABILITY_ALLOW   8
#define FWPM_NET_EVENT_TYPE_CLASSIFY_DROP_MAC  9
#define FWPM_NET_EVENT_TYPE_LPM_PACKET_ARRIVAL 10

/* Engine option FWPM_ENGINE_NET_EVENT_MATCH_ANY_KEYWORDS: keyword bits. */
#ifndef FWPM_NET_EVENT_KEYWORD_INBOUND_MCAST
#define FWPM_NET_EVENT_KEYWORD_INBOUND_MCAST      0x00000001
#define FWPM_NET_EVENT_KEYWORD_INBOUND_BCAST      0x00000002
#define FWPM_NET_EVENT_KEYWORD_CAPABILITY_DROP    0x00000004
#define FWPM_NET_EVENT_KEYWORD_CAPABILITY_ALLOW   0x00000008
#define FWPM_NET_EVENT_KEYWORD_CLASSIFY_ALLOW     0x00000010
#define FWPM_NET_EVENT_KEYWORD_PORT_SCANNING_DROP 0x00000020 /* 1903+ */
#endif

/* FWPM_ENGINE_OPTION values after FWPM_ENGINE_NAME_CACHE (2), which mingw's
 * enum ends with. Never set MONITOR_IPSEC_CONNECTIONS: it cannot be unset. */
#define FWPM_ENGINE_MONITOR_IPSEC_CONNECTIONS    3
#define FWPM_ENGINE_PACKET_QUEUING               4
#define FWPM_ENGINE_TXN_WATCHDOG_TIMEOUT_IN_MSEC 5

/* FWPM_SESSION0.flags */
#ifndef FWPM_SESSION_FLAG_DYNAMIC
#define FWPM_SESSION_FLAG_DYNAMIC  0x00000001
#define FWPM_SESSION_FLAG_RESERVED 0x10000000
#endif

/* FWPM_NET_EVENT_CLASSIFY_DROPn.msFwpDirection */
#ifndef FWP_DIRECTION_IN
#define FWP_DIRECTION_IN      0x00003900
#define FWP_DIRECTION_OUT     0x00003901
#define FWP_DIRECTION_FORWARD 0x00003902
#endif

/* ---- net-event headers ---------------------------------------------- */

/* FWPM_NET_EVENT_HEADER2 (Windows 8): HEADER0 + addressFamily, packageSid.
 * 104 bytes. */
typedef struct FWPM_NET_EVENT_HEADER2_ {
	FILETIME timeStamp;
	UINT32 flags;
	FWP_IP_VERSION ipVersion;
	UINT8 ipProtocol;
	union {
		UINT32 localAddrV4;
		FWP_BYTE_ARRAY16 localAddrV6;
	};
	union {
		UINT32 remoteAddrV4;
		FWP_BYTE_ARRAY16 remoteAddrV6;
	};
	UINT16 localPort;
	UINT16 remotePort;
	UINT32 scopeId;
	FWP_BYTE_BLOB appId;
	SID *userId;
	FWP_AF addressFamily;
	SID *packageSid;
} FWPM_NET_EVENT_HEADER2;

/* FWPM_NET_EVENT_HEADER3 (Windows 10 1607): HEADER2 + enterpriseId,
 * policyFlags, effectiveName. 136 bytes. Used by FWPM_NET_EVENT3, 4 and 5. */
typedef struct FWPM_NET_EVENT_HEADER3_ {
	FILETIME timeStamp;
	UINT32 flags;
	FWP_IP_VERSION ipVersion;
	UINT8 ipProtocol;
	union {
		UINT32 localAddrV4;
		FWP_BYTE_ARRAY16 localAddrV6;
	};
	union {
		UINT32 remoteAddrV4;
		FWP_BYTE_ARRAY16 remoteAddrV6;
	};
	UINT16 localPort;
	UINT16 remotePort;
	UINT32 scopeId;
	FWP_BYTE_BLOB appId;
	SID *userId;
	FWP_AF addressFamily;
	SID *packageSid;
	wchar_t *enterpriseId;
	UINT64 policyFlags;
	FWP_BYTE_BLOB effectiveName;
} FWPM_NET_EVENT_HEADER3;

/* ---- event bodies ----------------------------------------------------- */

/* FWPM_NET_EVENT_CLASSIFY_DROP2 (Windows 8): DROP1 + vSwitch fields. 56 bytes. */
typedef struct FWPM_NET_EVENT_CLASSIFY_DROP2_ {
	UINT64 filterId;
	UINT16 layerId;
	UINT32 reauthReason;
	UINT32 originalProfile;
	UINT32 currentProfile;
	UINT32 msFwpDirection;
	BOOL isLoopback;
	FWP_BYTE_BLOB vSwitchId;
	UINT32 vSwitchSourcePort;
	UINT32 vSwitchDestinationPort;
} FWPM_NET_EVENT_CLASSIFY_DROP2;

/* FWPM_NET_EVENT_CLASSIFY_DROP_MAC0 (Windows 8): a MAC-layer drop. */
typedef struct FWPM_NET_EVENT_CLASSIFY_DROP_MAC0_ {
	FWP_BYTE_ARRAY6 localMacAddr;
	FWP_BYTE_ARRAY6 remoteMacAddr;
	UINT32 mediaType;
	UINT32 ifType;
	UINT16 etherType;
	UINT32 ndisPortNumber;
	UINT32 reserved;
	UINT16 vlanTag;
	UINT64 ifLuid;
	UINT64 filterId;
	UINT16 layerId;
	UINT32 reauthReason;
	UINT32 originalProfile;
	UINT32 currentProfile;
	UINT32 msFwpDirection;
	BOOL isLoopback;
	FWP_BYTE_BLOB vSwitchId;
	UINT32 vSwitchSourcePort;
	UINT32 vSwitchDestinationPort;
} FWPM_NET_EVENT_CLASSIFY_DROP_MAC0;

/* FWPM_NET_EVENT_CLASSIFY_ALLOW0 (Windows 8): same members as DROP1.
 * 32 bytes. (The SDK's struct tag has no trailing underscore.) */
typedef struct FWPM_NET_EVENT_CLASSIFY_ALLOW0 {
	UINT64 filterId;
	UINT16 layerId;
	UINT32 reauthReason;
	UINT32 originalProfile;
	UINT32 currentProfile;
	UINT32 msFwpDirection;
	BOOL isLoopback;
} FWPM_NET_EVENT_CLASSIFY_ALLOW0;

/* FWPM_APPC_NETWORK_CAPABILITY_TYPE (Windows 8). */
typedef enum FWPM_APPC_NETWORK_CAPABILITY_TYPE_ {
	FWPM_APPC_NETWORK_CAPABILITY_INTERNET_CLIENT = 0,
	FWPM_APPC_NETWORK_CAPABILITY_INTERNET_CLIENT_SERVER = 1,
	FWPM_APPC_NETWORK_CAPABILITY_INTERNET_PRIVATE_NETWORK = 2
} FWPM_APPC_NETWORK_CAPABILITY_TYPE;

/* FWPM_NET_EVENT_CAPABILITY_DROP0 / ALLOW0 (Windows 8). 24 bytes each. */
typedef struct FWPM_NET_EVENT_CAPABILITY_DROP0_ {
	FWPM_APPC_NETWORK_CAPABILITY_TYPE networkCapabilityId;
	UINT64 filterId;
	BOOL isLoopback;
} FWPM_NET_EVENT_CAPABILITY_DROP0;

typedef struct FWPM_NET_EVENT_CAPABILITY_ALLOW0_ {
	FWPM_APPC_NETWORK_CAPABILITY_TYPE networkCapabilityId;
	UINT64 filterId;
	BOOL isLoopback;
} FWPM_NET_EVENT_CAPABILITY_ALLOW0;

/* FWPM_NET_EVENT_LPM_PACKET_ARRIVAL0 (Windows 10 1809). */
typedef struct FWPM_NET_EVENT_LPM_PACKET_ARRIVAL0_ {
	IPSEC_SA_SPI spi;
} FWPM_NET_EVENT_LPM_PACKET_ARRIVAL0;

/* FWPM_NET_EVENT_IKEEXT_MM_FAILURE2 (Windows 10 1803): MM_FAILURE1 +
 * providerContextKey. */
typedef struct FWPM_NET_EVENT_IKEEXT_MM_FAILURE2_ {
	UINT32 failureErrorCode;
	IPSEC_FAILURE_POINT failurePoint;
	UINT32 flags;
	IKEEXT_KEY_MODULE_TYPE keyingModuleType;
	IKEEXT_MM_SA_STATE mmState;
	IKEEXT_SA_ROLE saRole;
	IKEEXT_AUTHENTICATION_METHOD_TYPE mmAuthMethod;
	UINT8 endCertHash[20];
	UINT64 mmId;
	UINT64 mmFilterId;
	wchar_t *localPrincipalNameForAuth;
	wchar_t *remotePrincipalNameForAuth;
	UINT32 numLocalPrincipalGroupSids;
	LPWSTR *localPrincipalGroupSids;
	UINT32 numRemotePrincipalGroupSids;
	LPWSTR *remotePrincipalGroupSids;
	GUID *providerContextKey;
} FWPM_NET_EVENT_IKEEXT_MM_FAILURE2;

/* FWPM_NET_EVENT_IKEEXT_QM_FAILURE1 (Windows 10 1803): QM_FAILURE0 +
 * mmSaLuid, mmProviderContextKey. */
typedef struct FWPM_NET_EVENT_IKEEXT_QM_FAILURE1_ {
	UINT32 failureErrorCode;
	IPSEC_FAILURE_POINT failurePoint;
	IKEEXT_KEY_MODULE_TYPE keyingModuleType;
	IKEEXT_QM_SA_STATE qmState;
	IKEEXT_SA_ROLE saRole;
	IPSEC_TRAFFIC_TYPE saTrafficType;
	union {
		FWP_CONDITION_VALUE0 localSubNet;
	};
	union {
		FWP_CONDITION_VALUE0 remoteSubNet;
	};
	UINT64 qmFilterId;
	UINT64 mmSaLuid;
	GUID mmProviderContextKey;
} FWPM_NET_EVENT_IKEEXT_QM_FAILURE1;

/* ---- net events --------------------------------------------------------- */

/* FWPM_NET_EVENT2 (Windows 8), delivered by FwpmNetEventSubscribe1. 120 bytes. */
typedef struct FWPM_NET_EVENT2_ {
	FWPM_NET_EVENT_HEADER2 header;
	FWPM_NET_EVENT_TYPE type;
	union {
		FWPM_NET_EVENT_IKEEXT_MM_FAILURE1 *ikeMmFailure;
		FWPM_NET_EVENT_IKEEXT_QM_FAILURE0 *ikeQmFailure;
		FWPM_NET_EVENT_IKEEXT_EM_FAILURE1 *ikeEmFailure;
		FWPM_NET_EVENT_CLASSIFY_DROP2 *classifyDrop;
		FWPM_NET_EVENT_IPSEC_KERNEL_DROP0 *ipsecDrop;
		FWPM_NET_EVENT_IPSEC_DOSP_DROP0 *idpDrop;
		FWPM_NET_EVENT_CLASSIFY_ALLOW0 *classifyAllow;
		FWPM_NET_EVENT_CAPABILITY_DROP0 *capabilityDrop;
		FWPM_NET_EVENT_CAPABILITY_ALLOW0 *capabilityAllow;
		FWPM_NET_EVENT_CLASSIFY_DROP_MAC0 *classifyDropMac;
	};
} FWPM_NET_EVENT2;

/* FWPM_NET_EVENT3 (Windows 10 1607), delivered by FwpmNetEventSubscribe2.
 * 152 bytes. */
typedef struct FWPM_NET_EVENT3_ {
	FWPM_NET_EVENT_HEADER3 header;
	FWPM_NET_EVENT_TYPE type;
	union {
		FWPM_NET_EVENT_IKEEXT_MM_FAILURE1 *ikeMmFailure;
		FWPM_NET_EVENT_IKEEXT_QM_FAILURE0 *ikeQmFailure;
		FWPM_NET_EVENT_IKEEXT_EM_FAILURE1 *ikeEmFailure;
		FWPM_NET_EVENT_CLASSIFY_DROP2 *classifyDrop;
		FWPM_NET_EVENT_IPSEC_KERNEL_DROP0 *ipsecDrop;
		FWPM_NET_EVENT_IPSEC_DOSP_DROP0 *idpDrop;
		FWPM_NET_EVENT_CLASSIFY_ALLOW0 *classifyAllow;
		FWPM_NET_EVENT_CAPABILITY_DROP0 *capabilityDrop;
		FWPM_NET_EVENT_CAPABILITY_ALLOW0 *capabilityAllow;
		FWPM_NET_EVENT_CLASSIFY_DROP_MAC0 *classifyDropMac;
	};
} FWPM_NET_EVENT3;

/* FWPM_NET_EVENT4 (Windows 10 1803), delivered by FwpmNetEventSubscribe3.
 * 152 bytes: EVENT3 with the newer IKE failure structs. */
typedef struct FWPM_NET_EVENT4_ {
	FWPM_NET_EVENT_HEADER3 header;
	FWPM_NET_EVENT_TYPE type;
	union {
		FWPM_NET_EVENT_IKEEXT_MM_FAILURE2 *ikeMmFailure;
		FWPM_NET_EVENT_IKEEXT_QM_FAILURE1 *ikeQmFailure;
		FWPM_NET_EVENT_IKEEXT_EM_FAILURE1 *ikeEmFailure;
		FWPM_NET_EVENT_CLASSIFY_DROP2 *classifyDrop;
		FWPM_NET_EVENT_IPSEC_KERNEL_DROP0 *ipsecDrop;
		FWPM_NET_EVENT_IPSEC_DOSP_DROP0 *idpDrop;
		FWPM_NET_EVENT_CLASSIFY_ALLOW0 *classifyAllow;
		FWPM_NET_EVENT_CAPABILITY_DROP0 *capabilityDrop;
		FWPM_NET_EVENT_CAPABILITY_ALLOW0 *capabilityAllow;
		FWPM_NET_EVENT_CLASSIFY_DROP_MAC0 *classifyDropMac;
	};
} FWPM_NET_EVENT4;

/* FWPM_NET_EVENT5 (Windows 10 1809), delivered by FwpmNetEventSubscribe4.
 * 152 bytes: EVENT4 + lpmPacketArrival. */
typedef struct FWPM_NET_EVENT5_ {
	FWPM_NET_EVENT_HEADER3 header;
	FWPM_NET_EVENT_TYPE type;
	union {
		FWPM_NET_EVENT_IKEEXT_MM_FAILURE2 *ikeMmFailure;
		FWPM_NET_EVENT_IKEEXT_QM_FAILURE1 *ikeQmFailure;
		FWPM_NET_EVENT_IKEEXT_EM_FAILURE1 *ikeEmFailure;
		FWPM_NET_EVENT_CLASSIFY_DROP2 *classifyDrop;
		FWPM_NET_EVENT_IPSEC_KERNEL_DROP0 *ipsecDrop;
		FWPM_NET_EVENT_IPSEC_DOSP_DROP0 *idpDrop;
		FWPM_NET_EVENT_CLASSIFY_ALLOW0 *classifyAllow;
		FWPM_NET_EVENT_CAPABILITY_DROP0 *capabilityDrop;
		FWPM_NET_EVENT_CAPABILITY_ALLOW0 *capabilityAllow;
		FWPM_NET_EVENT_CLASSIFY_DROP_MAC0 *classifyDropMac;
		FWPM_NET_EVENT_LPM_PACKET_ARRIVAL0 *lpmPacketArrival;
	};
} FWPM_NET_EVENT5;

/* ---- fwpuclnt exports (fwpmu.h) -------------------------------------- */

/* Callbacks of FwpmNetEventSubscribe1..4. mingw has FWPM_NET_EVENT_CALLBACK0
 * (FWPM_NET_EVENT1) and FwpmNetEventSubscribe0. */
typedef void(CALLBACK *FWPM_NET_EVENT_CALLBACK1)(void *context, const FWPM_NET_EVENT2 *event);
typedef void(CALLBACK *FWPM_NET_EVENT_CALLBACK2)(void *context, const FWPM_NET_EVENT3 *event);
typedef void(CALLBACK *FWPM_NET_EVENT_CALLBACK3)(void *context, const FWPM_NET_EVENT4 *event);
typedef void(CALLBACK *FWPM_NET_EVENT_CALLBACK4)(void *context, const FWPM_NET_EVENT5 *event);

/* Declared without dllimport so that a fake fwpuclnt.dll can define them. */
DWORD WINAPI FwpmNetEventSubscribe1(HANDLE engineHandle, const FWPM_NET_EVENT_SUBSCRIPTION0 *subscription,
				    FWPM_NET_EVENT_CALLBACK1 callback, void *context, HANDLE *eventsHandle);
DWORD WINAPI FwpmNetEventSubscribe2(HANDLE engineHandle, const FWPM_NET_EVENT_SUBSCRIPTION0 *subscription,
				    FWPM_NET_EVENT_CALLBACK2 callback, void *context, HANDLE *eventsHandle);
DWORD WINAPI FwpmNetEventSubscribe3(HANDLE engineHandle, const FWPM_NET_EVENT_SUBSCRIPTION0 *subscription,
				    FWPM_NET_EVENT_CALLBACK3 callback, void *context, HANDLE *eventsHandle);
DWORD WINAPI FwpmNetEventSubscribe4(HANDLE engineHandle, const FWPM_NET_EVENT_SUBSCRIPTION0 *subscription,
				    FWPM_NET_EVENT_CALLBACK4 callback, void *context, HANDLE *eventsHandle);

/* ---- size pins (x64 and arm64) ---------------------------------------- */
#if defined(_WIN64)
_Static_assert(sizeof(FWPM_NET_EVENT_HEADER0) == 88, "FWPM_NET_EVENT_HEADER0");
_Static_assert(sizeof(FWPM_NET_EVENT_HEADER1) == 144, "FWPM_NET_EVENT_HEADER1");
_Static_assert(sizeof(FWPM_NET_EVENT_HEADER2) == 104, "FWPM_NET_EVENT_HEADER2");
_Static_assert(sizeof(FWPM_NET_EVENT_HEADER3) == 136, "FWPM_NET_EVENT_HEADER3");
_Static_assert(offsetof(FWPM_NET_EVENT_HEADER3, localAddrV4) == 20, "localAddr is 4-aligned");
_Static_assert(offsetof(FWPM_NET_EVENT_HEADER3, addressFamily) == 88, "addressFamily");
_Static_assert(offsetof(FWPM_NET_EVENT_HEADER3, effectiveName) == 120, "effectiveName");
_Static_assert(sizeof(FWPM_NET_EVENT1) == 160, "FWPM_NET_EVENT1");
_Static_assert(sizeof(FWPM_NET_EVENT2) == 120, "FWPM_NET_EVENT2");
_Static_assert(sizeof(FWPM_NET_EVENT3) == 152, "FWPM_NET_EVENT3");
_Static_assert(sizeof(FWPM_NET_EVENT4) == 152, "FWPM_NET_EVENT4");
_Static_assert(sizeof(FWPM_NET_EVENT5) == 152, "FWPM_NET_EVENT5");
_Static_assert(sizeof(FWPM_NET_EVENT_CLASSIFY_DROP0) == 16, "FWPM_NET_EVENT_CLASSIFY_DROP0");
_Static_assert(sizeof(FWPM_NET_EVENT_CLASSIFY_DROP1) == 32, "FWPM_NET_EVENT_CLASSIFY_DROP1");
_Static_assert(sizeof(FWPM_NET_EVENT_CLASSIFY_DROP2) == 56, "FWPM_NET_EVENT_CLASSIFY_DROP2");
_Static_assert(sizeof(FWPM_NET_EVENT_CLASSIFY_ALLOW0) == 32, "FWPM_NET_EVENT_CLASSIFY_ALLOW0");
_Static_assert(sizeof(FWPM_NET_EVENT_CAPABILITY_DROP0) == 24, "FWPM_NET_EVENT_CAPABILITY_DROP0");
_Static_assert(sizeof(FWPM_NET_EVENT_SUBSCRIPTION0) == 32, "FWPM_NET_EVENT_SUBSCRIPTION0");
_Static_assert(sizeof(FWPM_SESSION0) == 72, "FWPM_SESSION0");
_Static_assert(sizeof(FWPM_FILTER0) == 200, "FWPM_FILTER0");
_Static_assert(sizeof(FWPM_LAYER0) == 72, "FWPM_LAYER0");
#endif

#ifdef __cplusplus
}
#endif

#endif /* WFPWATCH_SDK_H */
