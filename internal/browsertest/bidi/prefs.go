package bidi

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// An address nothing listens on: services that must have a URL get this one and fail at once
// instead of reaching out to the network.
const nowhere = "http://127.0.0.1:9/"

// DefaultPrefs keeps a test browser quiet and off the network: no updates, telemetry, studies,
// remote settings, safe-browsing lists, captive-portal or connectivity checks, first-run or
// what's-new pages, prefetching or proxies. Firefox's remote agent adds its own recommended
// automation preferences on top.
func DefaultPrefs() map[string]any {
	return map[string]any{
		// updates of Firefox, add-ons and system add-ons
		"app.update.disabledForTesting":       true,
		"app.update.auto":                     false,
		"app.update.checkInstallTime":         false,
		"extensions.update.enabled":           false,
		"extensions.getAddons.cache.enabled":  false,
		"extensions.systemAddon.update.url":   nowhere,
		"extensions.blocklist.enabled":        false,
		"media.gmp-manager.url":               nowhere,
		"media.gmp-gmpopenh264.enabled":       false,
		"browser.search.update":               false,
		"browser.region.network.url":          "",
		"browser.region.update.enabled":       false,
		"services.settings.server":            nowhere,
		"services.sync.prefs.sync.browser.ui": false,
		// telemetry, studies, experiments
		"datareporting.policy.dataSubmissionEnabled":                  false,
		"datareporting.healthreport.uploadEnabled":                    false,
		"toolkit.telemetry.enabled":                                   false,
		"toolkit.telemetry.unified":                                   false,
		"toolkit.telemetry.archive.enabled":                           false,
		"toolkit.telemetry.server":                                    nowhere,
		"browser.ping-centre.telemetry":                               false,
		"browser.newtabpage.activity-stream.feeds.telemetry":          false,
		"browser.newtabpage.activity-stream.telemetry":                false,
		"app.normandy.enabled":                                        false,
		"app.normandy.api_url":                                        "",
		"app.shield.optoutstudies.enabled":                            false,
		"messaging-system.rsexperimentloader.enabled":                 false,
		"nimbus.rsexperimentloader.enabled":                           false,
		"browser.discovery.enabled":                                   false,
		"browser.newtabpage.activity-stream.feeds.snippets":           false,
		"browser.newtabpage.activity-stream.feeds.topsites":           false,
		"browser.newtabpage.activity-stream.showSponsored":            false,
		"browser.newtabpage.activity-stream.feeds.section.topstories": false,
		// network checks and background connections
		"network.captive-portal-service.enabled":          false,
		"network.connectivity-service.enabled":            false,
		"network.dns.disablePrefetch":                     true,
		"network.prefetch-next":                           false,
		"network.predictor.enabled":                       false,
		"network.http.speculative-parallel-limit":         0,
		"network.proxy.type":                              0, // direct: the pages under test are local
		"geo.provider.network.url":                        "",
		"browser.safebrowsing.malware.enabled":            false,
		"browser.safebrowsing.phishing.enabled":           false,
		"browser.safebrowsing.downloads.enabled":          false,
		"browser.safebrowsing.blockedURIs.enabled":        false,
		"browser.safebrowsing.provider.google4.updateURL": "",
		"browser.safebrowsing.provider.mozilla.updateURL": "",
		"security.OCSP.enabled":                           0,
		"security.remote_settings.crlite_filters.enabled": false,
		"security.remote_settings.intermediates.enabled":  false,
		// first run, start page, prompts
		"browser.shell.checkDefaultBrowser":               false,
		"browser.startup.page":                            0,
		"browser.startup.homepage":                        "about:blank",
		"browser.startup.homepage_override.mstone":        "ignore",
		"startup.homepage_welcome_url":                    "about:blank",
		"startup.homepage_welcome_url.additional":         "",
		"browser.aboutwelcome.enabled":                    false,
		"browser.newtabpage.enabled":                      false,
		"browser.tabs.warnOnClose":                        false,
		"browser.sessionstore.resume_from_crash":          false,
		"toolkit.startup.max_resumed_crashes":             -1,
		"browser.translations.automaticallyPopup":         false,
		"browser.uitour.enabled":                          false,
		"signon.rememberSignons":                          false,
		"browser.contentblocking.report.lockwise.enabled": false,
	}
}

// writePrefs writes user.js into the profile: DefaultPrefs, then extra.
func writePrefs(profile string, extra map[string]any) error {
	prefs := DefaultPrefs()
	maps.Copy(prefs, extra)
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(prefs)) {
		v, err := json.Marshal(prefs[k])
		if err != nil {
			return fmt.Errorf("pref %s: %w", k, err)
		}
		fmt.Fprintf(&b, "user_pref(%q, %s);\n", k, v)
	}
	return os.WriteFile(filepath.Join(profile, "user.js"), []byte(b.String()), 0o644)
}
