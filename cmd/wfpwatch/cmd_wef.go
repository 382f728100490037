package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
)

const wefHelp = `Windows Event Forwarding (WEF) gathers the Security events of many hosts
on a Windows Event Collector, in its ForwardedEvents log, where
'wfpwatch watch --channel ForwardedEvents' (or the service, with
channel = "ForwardedEvents" in its configuration) reads them: every host's
events are oriented from that host's own evidence and named by host.

'wef subscription' prints a source-initiated subscription for 'wecutil cs'
on the collector, selecting exactly the event ids watch reads (blocks; with
--packets the packet drops, with --permits permitted traffic). See
docs/fleet.md for the collector and the Group Policy on the sources.`

func init() {
	register(&command{name: "wef", summary: "Windows Event Forwarding: a subscription for many hosts", new: func(stdout, stderr io.Writer) *cobra.Command {
		c := &cobra.Command{
			Use:   "wef subscription [--packets] [--permits] [--name NAME]",
			Short: "Windows Event Forwarding: a subscription for many hosts",
			Long:  wefHelp,
			Args:  subcommandArgs,
			RunE:  groupRun,
		}
		var packets, permits bool
		var name string
		sub := &cobra.Command{
			Use:     "subscription [flags]",
			Short:   "print a source-initiated subscription (XML for 'wecutil cs') for the Filtering Platform events",
			Example: "  wfpwatch wef subscription > wfpwatch-sub.xml\n  wecutil cs wfpwatch-sub.xml",
			Args:    noArgs,
			RunE: func(*cobra.Command, []string) error {
				if !subscriptionName.MatchString(name) {
					return usagef("--name %q: want letters, digits, '-', '_' or '.' (it names the subscription and its file)", name)
				}
				_, err := io.WriteString(stdout, wefSubscription(name, packets, permits))
				return err
			},
		}
		sub.Flags().BoolVar(&packets, "packets", false, "also forward packet drops (5152/5153: very frequent)")
		sub.Flags().BoolVar(&permits, "permits", false, "also forward permitted traffic (5154/5156/5158: more frequent still)")
		sub.Flags().StringVar(&name, "name", "wfpwatch", "the subscription's `NAME`")
		c.AddCommand(sub)
		return c
	}})
}

var subscriptionName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// wefSubscription returns the subscription XML. The query is watch's own
// (evtlog.QueryFor) on the Security channel; delivery is pushed in small
// batches every 10 s at most, so the collector sees blocks within seconds
// without a connection per event.
func wefSubscription(name string, packets, permits bool) string {
	// The XPath inside the QueryList is XML text ("<=" is "&lt;="); the
	// QueryList goes into the subscription as CDATA, as wecutil writes it.
	var xp strings.Builder
	xml.EscapeText(&xp, []byte(evtlog.QueryFor(packets, permits)))
	q := `<![CDATA[<QueryList><Query Id="0" Path="Security"><Select Path="Security">` + xp.String() + `</Select></Query></QueryList>]]>`
	what := "blocks (5031, 5155, 5157, 5159)"
	if packets {
		what += ", packet drops"
	}
	if permits {
		what += ", permits"
	}
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<!-- A source-initiated subscription for the Windows Filtering Platform audit events
     that wfpwatch reads: %s. Made by 'wfpwatch wef subscription'.
     On the collector:  wecutil qc /q   then   wecutil cs THIS-FILE
     AllowedSourceDomainComputers is an SDDL: as written, every computer of the
     domain (DC = Domain Computers) may forward. Replace DC with the SID of a
     group of your source computers to narrow it (docs/fleet.md). -->
<Subscription xmlns="http://schemas.microsoft.com/2006/03/windows/events/subscription">
  <SubscriptionId>%s</SubscriptionId>
  <SubscriptionType>SourceInitiated</SubscriptionType>
  <Description>Windows Filtering Platform %s, for wfpwatch watch --channel ForwardedEvents</Description>
  <Enabled>true</Enabled>
  <Uri>http://schemas.microsoft.com/wbem/wsman/1/windows/EventLog</Uri>
  <ConfigurationMode>Custom</ConfigurationMode>
  <Delivery Mode="Push">
    <Batching>
      <MaxItems>100</MaxItems>
      <MaxLatencyTime>10000</MaxLatencyTime>
    </Batching>
    <PushSettings>
      <Heartbeat Interval="60000"/>
    </PushSettings>
  </Delivery>
  <Query>%s</Query>
  <ReadExistingEvents>false</ReadExistingEvents>
  <TransportName>HTTP</TransportName>
  <ContentFormat>Events</ContentFormat>
  <Locale Language="en-US"/>
  <LogFile>ForwardedEvents</LogFile>
  <PublisherName>Microsoft-Windows-EventCollector</PublisherName>
  <AllowedSourceNonDomainComputers></AllowedSourceNonDomainComputers>
  <AllowedSourceDomainComputers>O:NSG:BAD:P(A;;GA;;;DC)S:</AllowedSourceDomainComputers>
</Subscription>
`, what, name, what, q)
}
