//! The Redis store: one server (`redis://`, `rediss://`) or a Redis Cluster (the URL of any one
//! node, as managed services give it, or several node URLs). With one URL, each worker asks the
//! server on connecting whether it runs in cluster mode (`INFO cluster`: `cluster_enabled:1`);
//! a cluster's other nodes are then found from it, and MOVED followed.
//!
//! Keys (each carries a hash tag, so a multi-key step never spans cluster slots):
//!
//! | key | type | what |
//! |---|---|---|
//! | `byok:grant:{<id>}` | hash: `rec`, `left` | a sealed grant and its requests left; expires with it |
//! | `byok:owner:{<kf>}` | sorted set: id → expiry (ms) | an owner's live grants, for the cap and revoke-all |
//! | `byok:rl:{<bucket>}` | hash: `tokens`, `ts` | a rate-limit bucket; expires when full again |
//! | `byok:hour:{<who>\|<provider>}:<hour>` | integer | a tier's requests in one UTC hour; expires after it |
//! | `byok:seen:{<nonce>}` | string | a sealed key's nonce, seen once (see [`crate::seal`]); expires when its seal would be stale |
//! | `byok:usage:{<subject>}:<day>` | hash: counter → integer | a subject's usage on one UTC day (see [`crate::core::ledger`]); expires 35 days after its last write |
//!
//! Every read-modify-write is a Lua script (sent by hash through [`redis::Script`]) using the
//! server's clock. Each worker opens its own connection (a [`ConnectionManager`] that
//! reconnects by itself, or a cluster connection), on its own event loop; every call is
//! bounded by the configured timeout, so a slow Redis never holds a request past it.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Script, Value};
use tokio::sync::OnceCell;

use super::types::{NewGrant, StoreError, StoredGrant, Take};
use crate::core::grant_id::GrantId;
use crate::core::key::KeyFingerprint;
use crate::core::ledger::{DayCounts, KEEP_DAYS, Subject};

/// Adds a grant id to its owner's set unless the owner has `cap` live grants already.
/// KEYS[1] owner set; ARGV id, expiry (ms), cap. Returns 1 when added, 0 at the cap.
static ADD_TO_OWNER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local expiry = redis.call('PEXPIRETIME', KEYS[1])
if expiry < tonumber(ARGV[2]) then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
return 1
",
    )
});

/// Takes one request from a limited grant. KEYS[1] the grant. Returns the requests left after
/// this one, -1 when none were left, -2 when the grant is gone.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local left = tonumber(redis.call('HGET', KEYS[1], 'left'))
if left == nil then
  if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
  return -2
end
if left <= 0 then return -1 end
return redis.call('HINCRBY', KEYS[1], 'left', -1)
",
    )
});

/// A token bucket: KEYS[1] the bucket; ARGV[1] capacity per minute. Returns 0 when a token was
/// taken, else the milliseconds until one is available.
static BUCKET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[1])
local rate = cap / 60000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or cap
local ts = tonumber(b[2]) or now
tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], 61000)
return wait
",
    )
});

/// Counts one request in an hourly window unless at the limit: KEYS[1] the window; ARGV[1] the
/// limit, ARGV[2] seconds to keep the window. Returns 1 when counted, 0 at the limit.
static COUNT_HOUR: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
",
    )
});

/// How to reach Redis, shared by every worker (made once, behind an `Arc`: size is no matter).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum Target {
    /// One URL: a single server, or one node of a cluster (asked at connection).
    One {
        client: redis::Client,
        /// The same node as a cluster's seed, should it say it is one.
        seed: ClusterClient,
    },
    /// Several URLs: the nodes of a cluster.
    Cluster(ClusterClient),
}

/// The Redis store for one worker (see the module docs).
#[derive(Debug)]
pub struct RedisStore {
    target: Arc<Target>,
    timeout: Duration,
    /// This worker's connection, opened on first use.
    conn: OnceCell<Conn>,
}

/// One worker's connection.
#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Single(_) => "Conn::Single",
            Self::Cluster(_) => "Conn::Cluster",
        })
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// Whether the server `client` names runs in cluster mode.
async fn is_cluster_node(client: &redis::Client, timeout: Duration) -> Result<bool, StoreError> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout));
    let mut probe = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| failed(&e))?;
    match redis::cmd("INFO")
        .arg("cluster")
        .query_async::<String>(&mut probe)
        .await
    {
        Ok(info) => Ok(info.contains("cluster_enabled:1")),
        Err(e) if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() => Err(failed(&e)),
        // INFO refused (an ACL that allows only data commands): a single server, as before.
        Err(_) => Ok(false),
    }
}

fn failed(e: &redis::RedisError) -> StoreError {
    StoreError(e.to_string())
}

fn grant_key(id: GrantId) -> String {
    format!("byok:grant:{{{id}}}")
}

/// A subject's counters for one day; the subject is the hash tag, so all its days share a
/// cluster slot and are read in one pipeline.
fn usage_key(subject: &Subject, day: u64) -> String {
    format!("byok:usage:{{{subject}}}:{day}")
}

fn owner_key(owner: KeyFingerprint) -> String {
    format!("byok:owner:{{{owner}}}")
}

impl RedisStore {
    /// A store on `urls`: one URL for a single server, several for the nodes of a cluster.
    /// Nothing is connected until first use.
    ///
    /// # Errors
    ///
    /// A message naming what is wrong with the URLs.
    pub fn new(urls: &[String], timeout: Duration) -> Result<Self, String> {
        let check = |url: &str| {
            let ok = (url.starts_with("redis://") || url.starts_with("rediss://"))
                && redis::parse_redis_url(url).is_some();
            ok.then_some(()).ok_or_else(|| {
                "expected redis://host:port or rediss://host:port URLs, comma-separated".to_owned()
            })
        };
        urls.iter().try_for_each(|u| check(u))?;
        let cluster = |nodes: &[String]| {
            ClusterClient::builder(nodes.iter().map(String::as_str))
                .connection_timeout(timeout)
                .response_timeout(timeout)
                .retries(1)
                .build()
                .map_err(|e| e.to_string())
        };
        let target = match urls {
            [] => return Err("no URL given".into()),
            [one] => Target::One {
                client: redis::Client::open(one.as_str()).map_err(|e| e.to_string())?,
                seed: cluster(urls)?,
            },
            nodes => Target::Cluster(cluster(nodes)?),
        };
        Ok(Self {
            target: Arc::new(target),
            timeout,
            conn: OnceCell::new(),
        })
    }

    pub(super) fn for_worker(&self) -> Self {
        Self {
            target: Arc::clone(&self.target),
            timeout: self.timeout,
            conn: OnceCell::new(),
        }
    }

    /// This worker's connection: opened on first use; a failed opening is tried again on the
    /// next call.
    async fn conn(&self) -> Result<Conn, StoreError> {
        // Boxed: connecting (with the cluster probe) is a large future, and every store
        // operation's future, even with the in-process store, would otherwise carry and copy
        // room for it (10,700 instructions a request, `bench/instructions.sh`), though only the
        // first operation of a worker connects.
        let conn = self.conn.get_or_try_init(|| {
            Box::pin(async {
                match &*self.target {
                    Target::One { client, seed } => {
                        // Managed services give one address for a whole cluster: a node says
                        // which it is (`INFO cluster`), and a cluster client finds the others
                        // from it and follows MOVED.
                        if is_cluster_node(client, self.timeout).await? {
                            return seed
                                .get_async_connection()
                                .await
                                .map(Conn::Cluster)
                                .map_err(|e| failed(&e));
                        }
                        let config = ConnectionManagerConfig::new()
                            .set_connection_timeout(Some(self.timeout))
                            .set_response_timeout(Some(self.timeout))
                            .set_number_of_retries(1)
                            .set_min_delay(Duration::from_millis(20))
                            .set_max_delay(Duration::from_millis(500));
                        ConnectionManager::new_lazy_with_config(client.clone(), config)
                            .map(Conn::Single)
                            .map_err(|e| failed(&e))
                    }
                    Target::Cluster(client) => client
                        .get_async_connection()
                        .await
                        .map(Conn::Cluster)
                        .map_err(|e| failed(&e)),
                }
            })
        });
        match tokio::time::timeout(self.timeout, conn).await {
            Ok(conn) => conn.cloned(),
            Err(_) => Err(StoreError("timed out connecting".into())),
        }
    }

    /// Runs `op` on this worker's connection, all within the timeout. A connection found
    /// broken (Redis restarted, say) is replaced by the connection manager, and `op` tried
    /// once more on the new one, so the first request after an outage does not fail.
    async fn run<T, F>(&self, op: impl Fn(Conn) -> F) -> Result<T, StoreError>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let attempts = async {
            let conn = self.conn().await?;
            match op(conn).await {
                Err(e) if e.is_io_error() || e.is_connection_dropped() => {
                    let conn = self.conn().await?;
                    op(conn).await.map_err(|e| failed(&e))
                }
                result => result.map_err(|e| failed(&e)),
            }
        };
        match tokio::time::timeout(self.timeout, attempts).await {
            Ok(result) => result,
            Err(_) => Err(StoreError("timed out".into())),
        }
    }

    pub(super) async fn put_grant(&self, grant: &NewGrant<'_>) -> Result<bool, StoreError> {
        let owner = &owner_key(grant.owner);
        let id = &grant.id.to_string();
        let added: i64 = self
            .run(|mut c| async move {
                ADD_TO_OWNER
                    .key(owner)
                    .arg(id)
                    .arg(grant.expires_at_ms)
                    .arg(grant.live_cap)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        if added == 0 {
            return Ok(false);
        }
        let key = grant_key(grant.id);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset(&key, "rec", grant.record)
            .ignore()
            .cmd("PEXPIREAT")
            .arg(&key)
            .arg(grant.expires_at_ms)
            .ignore();
        if let Some(n) = grant.max_requests {
            pipe.hset(&key, "left", n).ignore();
        }
        let pipe = &pipe;
        self.run(|mut c| async move { pipe.query_async::<()>(&mut c).await })
            .await?;
        Ok(true)
    }

    pub(super) async fn grant(&self, id: GrantId) -> Result<Option<StoredGrant>, StoreError> {
        let key = &grant_key(id);
        let (record, left): (Option<String>, Option<u64>) = self
            .run(|mut c| async move {
                redis::cmd("HMGET")
                    .arg(key)
                    .arg("rec")
                    .arg("left")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(record.map(|record| StoredGrant { record, left }))
    }

    pub(super) async fn take(&self, id: GrantId) -> Result<Take, StoreError> {
        let key = &grant_key(id);
        let left: i64 = self
            .run(|mut c| async move { TAKE.key(key).invoke_async(&mut c).await })
            .await?;
        Ok(match left {
            -2 => Take::Gone,
            -1 => Take::Exhausted,
            n => Take::Taken(u64::try_from(n).unwrap_or(0)),
        })
    }

    pub(super) async fn revoke(
        &self,
        id: GrantId,
        owner: KeyFingerprint,
    ) -> Result<bool, StoreError> {
        let key = &grant_key(id);
        let deleted: u64 = self
            .run(|mut c| async move { redis::cmd("DEL").arg(key).query_async(&mut c).await })
            .await?;
        let (set, member) = (&owner_key(owner), &id.to_string());
        self.run(|mut c| async move {
            redis::cmd("ZREM")
                .arg(set)
                .arg(member)
                .query_async::<u64>(&mut c)
                .await
        })
        .await?;
        Ok(deleted > 0)
    }

    pub(super) async fn revoke_all(&self, owner: KeyFingerprint) -> Result<u64, StoreError> {
        let set = &owner_key(owner);
        let ids: Vec<String> = self
            .run(|mut c| async move {
                redis::cmd("ZRANGE")
                    .arg(set)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let mut revoked = 0;
        for id in ids.iter().filter_map(|id| id.parse::<GrantId>().ok()) {
            let key = &grant_key(id);
            let deleted: u64 = self
                .run(|mut c| async move { redis::cmd("DEL").arg(key).query_async(&mut c).await })
                .await?;
            revoked += deleted;
        }
        self.run(
            |mut c| async move { redis::cmd("DEL").arg(set).query_async::<u64>(&mut c).await },
        )
        .await?;
        Ok(revoked)
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        self.run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .map(drop)
    }

    pub(super) async fn hit(
        &self,
        name: &str,
        per_minute: u32,
    ) -> Result<Option<Duration>, StoreError> {
        let key = &format!("byok:rl:{{{name}}}");
        let wait_ms: u64 = self
            .run(|mut c| async move { BUCKET.key(key).arg(per_minute).invoke_async(&mut c).await })
            .await?;
        Ok((wait_ms > 0).then(|| Duration::from_millis(wait_ms)))
    }

    pub(super) async fn add_usage(
        &self,
        subject: &Subject,
        day: u64,
        fields: &DayCounts,
    ) -> Result<(), StoreError> {
        let key = usage_key(subject, day);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (field, n) in fields {
            pipe.hincr(&key, field, *n).ignore();
        }
        pipe.expire(&key, (KEEP_DAYS * 86_400).cast_signed())
            .ignore();
        let pipe = &pipe;
        self.run(|mut c| async move { pipe.query_async::<()>(&mut c).await })
            .await
    }

    pub(super) async fn usage(
        &self,
        subject: &Subject,
        days: std::ops::RangeInclusive<u64>,
    ) -> Result<Vec<(u64, DayCounts)>, StoreError> {
        let days: Vec<u64> = days.collect();
        let mut pipe = redis::pipe();
        for day in &days {
            pipe.hgetall(usage_key(subject, *day));
        }
        let pipe = &pipe;
        let maps: Vec<Vec<(String, i64)>> = self
            .run(|mut c| async move { pipe.query_async(&mut c).await })
            .await?;
        Ok(days
            .into_iter()
            .zip(maps)
            .filter(|(_, fields)| !fields.is_empty())
            .collect())
    }

    pub(super) async fn spend(
        &self,
        subject: &Subject,
        day: u64,
        field: &'static str,
    ) -> Result<i64, StoreError> {
        let key = &usage_key(subject, day);
        let spend: Option<i64> = self
            .run(|mut c| async move {
                redis::cmd("HGET")
                    .arg(key)
                    .arg(field)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(spend.unwrap_or(0))
    }

    pub(super) async fn count_hour(
        &self,
        name: &str,
        hour: u64,
        limit: u32,
    ) -> Result<bool, StoreError> {
        let key = &format!("byok:hour:{{{name}}}:{hour}");
        let counted: i64 = self
            .run(|mut c| async move {
                COUNT_HOUR
                    .key(key)
                    .arg(limit)
                    .arg(3700)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(counted == 1)
    }

    pub(super) async fn first_use(&self, name: &str, ttl: Duration) -> Result<bool, StoreError> {
        let key = &format!("byok:seen:{{{name}}}");
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        // One atomic step on the server: only the first SET NX of a name answers OK.
        let set: Option<String> = self
            .run(|mut c| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_ms)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(set.is_some())
    }
}
