// What `hookpost help` says of the remote commands: kept apart from them, so help loads none.

export const ENDPOINTS_USAGE = `  endpoints list [--enabled|--disabled] [--type <event type>]
                            list the workspace's endpoints`;

export const REPLAY_USAGE = `  replay --since <time> [--until <time>] [--endpoint <id>] [--only-failed] [--type <t>]…
                            re-deliver the events of a time range, with progress until
                            it ends; times are ISO 8601 or an age such as 2h or 3d`;

export const TAIL_USAGE = `  tail [--endpoint <id>] [--type <t>]…
                            print delivery attempts live (types: exact or prefixes like email.*)`;
