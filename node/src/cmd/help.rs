//! The HELP texts of the subcommand containers, verbatim from Redis 7.0 (`CLIENT HELP`,
//! `OBJECT HELP`, `PUBSUB HELP`, `SLOWLOG HELP`, `CONFIG HELP`, `MEMORY HELP`,
//! `LATENCY HELP`, `SCRIPT HELP`, `ACL HELP`), one reply line per text line.

use bytes::Bytes;
use slotgate_protocol::Frame;

/// A HELP reply: every line of `text` as a simple string.
pub fn reply(text: &'static str) -> Frame {
    Frame::Array(
        text.lines()
            .map(|l| Frame::Simple(Bytes::from_static(l.as_bytes())))
            .collect(),
    )
}

/// `CLIENT HELP`.
pub const CLIENT: &str = "\
CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\n\
CACHING (YES|NO)\n\
\x20   Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.\n\
GETREDIR\n\
\x20   Return the client ID we are redirecting to when tracking is enabled.\n\
GETNAME\n\
\x20   Return the name of the current connection.\n\
ID\n\
\x20   Return the ID of the current connection.\n\
INFO\n\
\x20   Return information about the current client connection.\n\
KILL <ip:port>\n\
\x20   Kill connection made from <ip:port>.\n\
KILL <option> <value> [<option> <value> [...]]\n\
\x20   Kill connections. Options are:\n\
\x20   * ADDR (<ip:port>|<unixsocket>:0)\n\
\x20     Kill connections made from the specified address\n\
\x20   * LADDR (<ip:port>|<unixsocket>:0)\n\
\x20     Kill connections made to specified local address\n\
\x20   * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)\n\
\x20     Kill connections by type.\n\
\x20   * USER <username>\n\
\x20     Kill connections authenticated by <username>.\n\
\x20   * SKIPME (YES|NO)\n\
\x20     Skip killing current connection (default: yes).\n\
LIST [options ...]\n\
\x20   Return information about client connections. Options:\n\
\x20   * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)\n\
\x20     Return clients of specified type.\n\
UNPAUSE\n\
\x20   Stop the current client pause, resuming traffic.\n\
PAUSE <timeout> [WRITE|ALL]\n\
\x20   Suspend all, or just write, clients for <timeout> milliseconds.\n\
REPLY (ON|OFF|SKIP)\n\
\x20   Control the replies sent to the current connection.\n\
SETNAME <name>\n\
\x20   Assign the name <name> to the current connection.\n\
UNBLOCK <clientid> [TIMEOUT|ERROR]\n\
\x20   Unblock the specified blocked client.\n\
TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]\n\
\x20        [OPTIN] [OPTOUT] [NOLOOP]\n\
\x20   Control server assisted client side caching.\n\
TRACKINGINFO\n\
\x20   Report tracking status for the current connection.\n\
NO-EVICT (ON|OFF)\n\
\x20   Protect current client connection from eviction.\n\
HELP\n\
\x20   Prints this help.\n\
";

/// `OBJECT HELP`.
pub const OBJECT: &str = "\
OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\n\
ENCODING <key>\n\
\x20   Return the kind of internal representation used in order to store the value\n\
\x20   associated with a <key>.\n\
FREQ <key>\n\
\x20   Return the access frequency index of the <key>. The returned integer is\n\
\x20   proportional to the logarithm of the recent access frequency of the key.\n\
IDLETIME <key>\n\
\x20   Return the idle time of the <key>, that is the approximated number of\n\
\x20   seconds elapsed since the last access to the key.\n\
REFCOUNT <key>\n\
\x20   Return the number of references of the value associated with the specified\n\
\x20   <key>.\n\
HELP\n\
\x20   Prints this help.\n\
";

/// `PUBSUB HELP`.
pub const PUBSUB: &str = "\
PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\n\
CHANNELS [<pattern>]\n\
\x20   Return the currently active channels matching a <pattern> (default: '*').\n\
NUMPAT\n\
\x20   Return number of subscriptions to patterns.\n\
NUMSUB [<channel> ...]\n\
\x20   Return the number of subscribers for the specified channels, excluding\n\
\x20   pattern subscriptions(default: no channels).\n\
SHARDCHANNELS [<pattern>]\n\
\x20   Return the currently active shard level channels matching a <pattern> (default: '*').\n\
SHARDNUMSUB [<shardchannel> ...]\n\
\x20   Return the number of subscribers for the specified shard level channel(s)\n\
HELP\n\
\x20   Prints this help.\n\
";

/// `SLOWLOG HELP`.
pub const SLOWLOG: &str = "\
SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\n\
GET [<count>]\n\
\x20   Return top <count> entries from the slowlog (default: 10, -1 mean all).\n\
\x20   Entries are made of:\n\
\x20   id, timestamp, time in microseconds, arguments array, client IP and port,\n\
\x20   client name\n\
LEN\n\
\x20   Return the length of the slowlog.\n\
RESET\n\
\x20   Reset the slowlog.\n\
HELP\n\
\x20   Prints this help.\n\
";

/// `CONFIG HELP`.
pub const CONFIG: &str = "\
CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\n\
GET <pattern>\n\
\x20   Return parameters matching the glob-like <pattern> and their values.\n\
SET <directive> <value>\n\
\x20   Set the configuration <directive> to <value>.\n\
RESETSTAT\n\
\x20   Reset statistics reported by the INFO command.\n\
REWRITE\n\
\x20   Rewrite the configuration file.\n\
HELP\n\
\x20   Prints this help.\n";

/// `MEMORY HELP`.
pub const MEMORY: &str = "\
MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\n\
DOCTOR\n\
\x20   Return memory problems reports.\n\
MALLOC-STATS\n\
\x20   Return internal statistics report from the memory allocator.\n\
PURGE\n\
\x20   Attempt to purge dirty pages for reclamation by the allocator.\n\
STATS\n\
\x20   Return information about the memory usage of the server.\n\
USAGE <key> [SAMPLES <count>]\n\
\x20   Return memory in bytes used by <key> and its value. Nested values are\n\
\x20   sampled up to <count> times (default: 5, 0 means sample all).\n\
HELP\n\
\x20   Prints this help.\n";

/// `LATENCY HELP`.
pub const LATENCY: &str = "\
LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\n\
DOCTOR\n\
\x20   Return a human readable latency analysis report.\n\
GRAPH <event>\n\
\x20   Return an ASCII latency graph for the <event> class.\n\
HISTORY <event>\n\
\x20   Return time-latency samples for the <event> class.\n\
LATEST\n\
\x20   Return the latest latency samples for all events.\n\
RESET [<event> ...]\n\
\x20   Reset latency data of one or more <event> classes.\n\
\x20   (default: reset all data for all event classes)\n\
HISTOGRAM [COMMAND ...]\n\
\x20   Return a cumulative distribution of latencies in the format of a histogram for the specified command names.\n\
\x20   If no commands are specified then all histograms are replied.\n\
HELP\n\
\x20   Prints this help.\n";

/// `SCRIPT HELP`.
pub const SCRIPT: &str = "\
SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\n\
DEBUG (YES|SYNC|NO)\n\
\x20   Set the debug mode for subsequent scripts executed.\n\
EXISTS <sha1> [<sha1> ...]\n\
\x20   Return information about the existence of the scripts in the script cache.\n\
FLUSH [ASYNC|SYNC]\n\
\x20   Flush the Lua scripts cache. Very dangerous on replicas.\n\
\x20   When called without the optional mode argument, the behavior is determined by the\n\
\x20   lazyfree-lazy-user-flush configuration directive. Valid modes are:\n\
\x20   * ASYNC: Asynchronously flush the scripts cache.\n\
\x20   * SYNC: Synchronously flush the scripts cache.\n\
KILL\n\
\x20   Kill the currently executing Lua script.\n\
LOAD <script>\n\
\x20   Load a script into the scripts cache without executing it.\n\
HELP\n\
\x20   Prints this help.";

/// `ACL HELP`.
pub const ACL: &str = "\
ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\n\
CAT [<category>]\n\
\x20   List all commands that belong to <category>, or all command categories\n\
\x20   when no category is specified.\n\
DELUSER <username> [<username> ...]\n\
\x20   Delete a list of users.\n\
DRYRUN <username> <command> [<arg> ...]\n\
\x20   Returns whether the user can execute the given command without executing the command.\n\
GETUSER <username>\n\
\x20   Get the user's details.\n\
GENPASS [<bits>]\n\
\x20   Generate a secure 256-bit user password. The optional `bits` argument can\n\
\x20   be used to specify a different size.\n\
LIST\n\
\x20   Show users details in config file format.\n\
LOAD\n\
\x20   Reload users from the ACL file.\n\
LOG [<count> | RESET]\n\
\x20   Show the ACL log entries.\n\
SAVE\n\
\x20   Save the current config to the ACL file.\n\
SETUSER <username> <attribute> [<attribute> ...]\n\
\x20   Create or modify a user with the specified attributes.\n\
USERS\n\
\x20   List all the registered usernames.\n\
WHOAMI\n\
\x20   Return the current connection username.\n\
HELP\n\
\x20   Prints this help.\n";

/// `XGROUP HELP`.
pub const XGROUP: &str = "\
XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\n\
CREATE <key> <groupname> <id|$> [option]\n\
\x20   Create a new consumer group. Options are:\n\
\x20   * MKSTREAM\n\
\x20     Create the empty stream if it does not exist.\n\
\x20   * ENTRIESREAD entries_read\n\
\x20     Set the group's entries_read counter (internal use).\n\
CREATECONSUMER <key> <groupname> <consumer>\n\
\x20   Create a new consumer in the specified group.\n\
DELCONSUMER <key> <groupname> <consumer>\n\
\x20   Remove the specified consumer.\n\
DESTROY <key> <groupname>\n\
\x20   Remove the specified group.\n\
SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]\n\
\x20   Set the current group ID and entries_read counter.\n\
HELP\n\
\x20   Prints this help.";

/// `XINFO HELP`.
pub const XINFO: &str = "\
XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\n\
CONSUMERS <key> <groupname>\n\
\x20   Show consumers of <groupname>.\n\
GROUPS <key>\n\
\x20   Show the stream consumer groups.\n\
STREAM <key> [FULL [COUNT <count>]\n\
\x20   Show information about the stream.\n\
HELP\n\
\x20   Prints this help.";
