package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// ConfigOptions are the inputs of `passkeyctl config`.
type ConfigOptions struct {
	IO     *IOStreams
	Output string
	// Settings lists every global setting: the value used first, then the
	// values of other sources it overrides.
	Settings func() []configSetting
	// ConfigFile and EnvFiles are the files read.
	ConfigFile string
	EnvFiles   []string
}

// configSetting is one row of `passkeyctl config`.
type configSetting struct {
	resolvedSetting
	// Overridden are the other sources that set the key, which lost.
	Overridden []resolvedSetting `json:"overridden"`
}

// configView is `passkeyctl config -o json`.
type configView struct {
	ConfigFile *string         `json:"configFile"`
	EnvFiles   []string        `json:"envFiles"`
	Settings   []configSetting `json:"settings"`
}

func newCmdConfig(f *Factory, runF func(*ConfigOptions) error) *cobra.Command {
	opts := &ConfigOptions{IO: f.IO}
	return &cobra.Command{
		Use:   "config",
		Short: "Show every setting, the value used and where it came from (the DSN redacted)",
		Long: `Show the settings a command would use, each with its source: the flag, an
--env-file (file and line), --config, the environment or the config file, or the
default. A setting given by several sources lists the ones it overrides too, so
"which database?" has an answer before a revoke. Nothing is opened or dialled.

Order, first wins: flag; --env-file (PASSKEYCTL_*, then DATABASE_URL for the DSN; a
later file overrides an earlier one); --config FILE; the environment (PASSKEYCTL_*,
then DATABASE_URL); PASSKEYCTL_CONFIG or ./passkeyctl.yaml; the default.

The DSN's password is never shown; a DSN that cannot be parsed shows at most its
scheme.`,
		Example: `  passkeyctl --env-file .env --env-file .env.local config
  passkeyctl config -o json | jq -r '.settings[] | select(.key == "dsn") | .source'`,
		Args: noArgs(nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			opts.ConfigFile = f.configPath
			opts.EnvFiles = f.envFiles
			opts.Settings = func() []configSetting {
				var out []configSetting
				for _, key := range f.configKeys() {
					all := f.sources(key)
					if len(all) == 0 {
						out = append(out, configSetting{resolvedSetting: f.Resolve(key), Overridden: []resolvedSetting{}})
						continue
					}
					out = append(out, configSetting{resolvedSetting: all[0], Overridden: all[1:]})
				}
				return out
			}
			if runF != nil {
				return runF(opts)
			}
			return configRun(opts)
		},
	}
}

func configRun(opts *ConfigOptions) error {
	settings := opts.Settings()
	for i := range settings {
		if settings[i].Key == keyDSN {
			settings[i].Value = displayDSN(settings[i].Value)
			for j := range settings[i].Overridden {
				settings[i].Overridden[j].Value = displayDSN(settings[i].Overridden[j].Value)
			}
		}
	}
	if isJSON(opts.Output) {
		v := configView{EnvFiles: opts.EnvFiles, Settings: settings}
		if v.EnvFiles == nil {
			v.EnvFiles = []string{}
		}
		if opts.ConfigFile != "" {
			v.ConfigFile = &opts.ConfigFile
		}
		return writeResult(opts.IO.Out, opts.Output, v)
	}
	tw := newTable(opts.IO.Out)
	fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE")
	for _, s := range settings {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Key, dashIfEmpty(s.Value), s.Source)
		for _, o := range s.Overridden {
			fmt.Fprintf(tw, "%s\t%s\t%s (overridden)\n", o.Key, dashIfEmpty(o.Value), o.Source)
		}
	}
	return tw.Flush()
}

// displayDSN is a DSN as it may be printed (describeDSN), "" kept.
func displayDSN(dsn string) string {
	if dsn == "" {
		return ""
	}
	return describeDSN(dsn)
}

// dashIfEmpty shows an unset value as "-".
func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
