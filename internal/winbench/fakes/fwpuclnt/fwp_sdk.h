/*
 * fwp_sdk.h: the WFP net-event declarations that mingw-w64's fwpmtypes.h /
 * fwpmu.h (which stop at Windows 7) lack, written from Microsoft's
 * documented definitions (Microsoft Learn, fwpmtypes.h / fwpmu.h pages).
 * Used by the fake fwpuclnt.dll and by the Go layout test
 * (internal/source/netevent/layout_test.go). Include after <fwpmu.h>.
 */
#ifndef WFPWATCH_FWP_SDK_H
#define WFPWATCH_FWP_SDK_H

#include <windows.h>
#include <fwpmu.h>

#ifndef FWPM_SESSION_FLAG_DYNAMIC
#define FWPM_SESSION_FLAG_DYNAMIC 0x00000001
#endif

/* FWPM_NET_EVENT_TYPE values past mingw's enum (which ends at IPSEC_DOSP_DROP). */
#define WFPW_NET_EVENT_TYPE_CLASSIFY_ALLOW 6
#define WFPW_NET_EVENT_TYPE_CAPABILITY_DROP 7
#define WFPW_NET_EVENT_TYPE_CAPABILITY_ALLOW 8
#define WFPW_NET_EVENT_TYPE_CLASSIFY_DROP_MAC 9
#define WFPW_NET_EVENT_TYPE_LPM_PACKET_ARRIVAL 10

typedef enum FWPM_APPC_NETWORK_CAPABILITY_TYPE_ {
  FWPM_APPC_NETWORK_CAPABILITY_INTERNET_CLIENT = 0,
  FWPM_APPC_NETWORK_CAPABILITY_INTERNET_CLIENT_SERVER,
  FWPM_APPC_NETWORK_CAPABILITY_INTERNET_PRIVATE_NETWORK
} FWPM_APPC_NETWORK_CAPABILITY_TYPE;

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

typedef struct FWPM_NET_EVENT_CLASSIFY_ALLOW0_ {
  UINT64 filterId;
  UINT16 layerId;
  UINT32 reauthReason;
  UINT32 originalProfile;
  UINT32 currentProfile;
  UINT32 msFwpDirection;
  BOOL isLoopback;
} FWPM_NET_EVENT_CLASSIFY_ALLOW0;

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

/*
 * The union members wfpwatch never follows (IKE failures, LPM packet
 * arrival) are declared as void * here: they are pointers either way, and
 * the union's size and offset do not depend on what they point to.
 */
#define WFPW_NET_EVENT_UNION2                                  \
  union {                                                      \
    void *ikeMmFailure;                                        \
    void *ikeQmFailure;                                        \
    void *ikeEmFailure;                                        \
    FWPM_NET_EVENT_CLASSIFY_DROP2 *classifyDrop;               \
    FWPM_NET_EVENT_IPSEC_KERNEL_DROP0 *ipsecDrop;              \
    FWPM_NET_EVENT_IPSEC_DOSP_DROP0 *idpDrop;                  \
    FWPM_NET_EVENT_CLASSIFY_ALLOW0 *classifyAllow;             \
    FWPM_NET_EVENT_CAPABILITY_DROP0 *capabilityDrop;           \
    FWPM_NET_EVENT_CAPABILITY_ALLOW0 *capabilityAllow;         \
    FWPM_NET_EVENT_CLASSIFY_DROP_MAC0 *classifyDropMac;        \
    void *lpmPacketArrival;                                    \
  }

typedef struct FWPM_NET_EVENT2_ {
  FWPM_NET_EVENT_HEADER2 header;
  FWPM_NET_EVENT_TYPE type;
  WFPW_NET_EVENT_UNION2;
} FWPM_NET_EVENT2;

typedef struct FWPM_NET_EVENT3_ {
  FWPM_NET_EVENT_HEADER3 header;
  FWPM_NET_EVENT_TYPE type;
  WFPW_NET_EVENT_UNION2;
} FWPM_NET_EVENT3;

typedef struct FWPM_NET_EVENT4_ {
  FWPM_NET_EVENT_HEADER3 header;
  FWPM_NET_EVENT_TYPE type;
  WFPW_NET_EVENT_UNION2;
} FWPM_NET_EVENT4;

typedef struct FWPM_NET_EVENT5_ {
  FWPM_NET_EVENT_HEADER3 header;
  FWPM_NET_EVENT_TYPE type;
  WFPW_NET_EVENT_UNION2;
} FWPM_NET_EVENT5;

typedef void(CALLBACK *FWPM_NET_EVENT_CALLBACK1)(void *context, const FWPM_NET_EVENT2 *event);
typedef void(CALLBACK *FWPM_NET_EVENT_CALLBACK2)(void *context, const FWPM_NET_EVENT3 *event);
typedef void(CALLBACK *FWPM_NET_EVENT_CALLBACK3)(void *context, const FWPM_NET_EVENT4 *event);
typedef void(CALLBACK *FWPM_NET_EVENT_CALLBACK4)(void *context, const FWPM_NET_EVENT5 *event);

#endif /* WFPWATCH_FWP_SDK_H */
