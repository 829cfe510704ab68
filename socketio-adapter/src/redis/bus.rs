//! [`RedisBus`]: the Redis connections of one server (a publisher fed by a queue, a subscriber that
//! reconnects and subscribes again), shared by the adapters of its namespaces.

use super::*;

/// The Redis connections of one server, shared by the adapters of all its namespaces: one connection
/// publishes (in order, from a queue), one subscribes; both reconnect on their own.
pub struct RedisBus {
    pub(super) config: RedisAdapterConfig,
    pub(super) endpoint: Endpoint,
    pub(super) publisher: mpsc::Sender<(String, Bytes)>,
    pub(super) commands: Conn,
    /// On a Redis Cluster, the subscriber (else `subscribe_loop` keeps one).
    pub(super) cluster_subscriber: std::sync::OnceLock<Arc<crate::resp::Subscriber>>,
    /// Channel or pattern → the adapter that listens to it.
    pub(super) routes: RwLock<HashMap<String, Weak<RedisAdapter>>>,
    pub(super) sink: tokio::sync::Mutex<Option<redis::aio::PubSubSink>>,
    pub(super) errors: ErrorHooks,
    pub(super) overflow: crate::Overflow,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus").field("config", &self.config).finish_non_exhaustive()
    }
}

impl RedisBus {
    /// The options.
    pub fn config(&self) -> &RedisAdapterConfig {
        &self.config
    }

    /// Connects to Redis at `url`: `redis://host:port`, or a Redis Cluster, given by the address of
    /// any of its nodes (the server says it is one) or by several, separated by commas
    /// (`redis://10.0.0.1:7000,10.0.0.2:7000`). An error when Redis cannot be reached (on a cluster:
    /// when no node answers within a few seconds).
    ///
    /// On a cluster, a classic `PUBLISH` reaches the subscribers of every node, and `PUBSUB NUMSUB` is
    /// asked of every node and summed, so the server count is right. The Node adapter asks one node
    /// only: a Node server in the same cluster counts fewer servers than there are, and its requests
    /// (fetchSockets, serverSideEmit with acks) end early, without every answer.
    pub async fn connect(url: &str, config: RedisAdapterConfig) -> Result<Arc<RedisBus>, AdapterError> {
        let (endpoint, existing) = Endpoint::resolve(url).await?;
        let commands = endpoint.commands(existing).await?;
        let (publisher, queue) = mpsc::channel(crate::OUTBOX_LIMIT);
        let bus = Arc::new(RedisBus {
            config,
            endpoint: endpoint.clone(),
            publisher,
            cluster_subscriber: std::sync::OnceLock::new(),
            commands: commands.clone(),
            routes: RwLock::new(HashMap::new()),
            sink: tokio::sync::Mutex::new(None),
            errors: ErrorHooks::default(),
            overflow: crate::Overflow::default(),
        });
        tokio::spawn(publish_loop(commands, queue, bus.errors.clone()));
        match &endpoint {
            Endpoint::Single(_) => {
                tokio::spawn(subscribe_loop(Arc::downgrade(&bus)));
            }
            Endpoint::Cluster(seeds) => {
                let weak = Arc::downgrade(&bus);
                let on_message = Arc::new(move |key: &str, channel: &str, payload: Bytes| {
                    if let Some(adapter) = weak.upgrade().and_then(|bus| bus.route(key)) {
                        adapter.on_message(channel, payload);
                    }
                });
                let subscriber = crate::redis_conn::start_cluster_subscriber(
                    seeds,
                    Mode::Classic,
                    on_message,
                    bus.errors.clone(),
                )
                .await
                .map_err(|e| bus_error(format!("redis adapter: cannot subscribe: {e}")))?;
                let _ = bus.cluster_subscriber.set(subscriber);
            }
        }
        Ok(bus)
    }

    /// Calls `hook` with each error of the bus (failed publishes, lost connections). They go to
    /// `tracing` too.
    pub fn on_error(&self, hook: impl Fn(&AdapterError) + Send + Sync + 'static) {
        self.errors.add(hook);
    }

    /// The adapter factory to give the server.
    pub fn factory(self: &Arc<Self>) -> AdapterFactory {
        let bus = self.clone();
        Arc::new(move |nsp| RedisAdapter::new(nsp, bus.clone()) as Arc<dyn Adapter>)
    }

    /// Queues a message for the publisher; whether it was queued (not when the queue is full or the
    /// publisher has stopped).
    pub(super) fn publish(&self, channel: String, payload: Bytes) -> bool {
        match self.publisher.try_send((channel, payload)) {
            Ok(()) => {
                self.overflow.queued();
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                if self.overflow.dropped() {
                    self.errors.report(bus_error(format!(
                        "redis adapter: {} messages wait to be published; more are dropped until they drain",
                        crate::OUTBOX_LIMIT
                    )));
                }
                false
            }
            Err(_) => false,
        }
    }

    pub(super) async fn subscriber_count(&self, channel: &str) -> Result<usize, AdapterError> {
        let mut conn = self.commands.clone();
        let reply: (String, usize) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(channel)
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        Ok(reply.1)
    }

    /// Subscribes the channels and the pattern of `adapter`, now if the subscriber is connected (else
    /// when it connects).
    pub(super) async fn subscribe(&self, adapter: &Arc<RedisAdapter>) {
        {
            let mut routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
            for key in adapter.subscriptions() {
                routes.insert(key, Arc::downgrade(adapter));
            }
        }
        if let Some(subscriber) = self.cluster_subscriber.get() {
            let keys = adapter.subscriptions();
            for key in &keys {
                subscriber.subscribe(key);
            }
            subscriber.wait_confirmed(&keys, Duration::from_secs(5)).await;
            adapter.subscribed.send_replace(true);
            return;
        }
        let mut sink = self.sink.lock().await;
        if let Some(sink) = sink.as_mut() {
            if subscribe_all(sink, &adapter.subscriptions()).await.is_ok() {
                adapter.subscribed.send_replace(true);
            }
        }
    }

    pub(super) async fn unsubscribe(&self, adapter: &RedisAdapter) {
        let keys = adapter.subscriptions();
        self.routes.write().unwrap_or_else(|e| e.into_inner()).retain(|k, _| !keys.contains(k));
        if let Some(subscriber) = self.cluster_subscriber.get() {
            for key in &keys {
                subscriber.unsubscribe(key);
            }
        }
        if let Some(sink) = self.sink.lock().await.as_mut() {
            for key in &keys {
                let _ = if key.ends_with('*') {
                    sink.punsubscribe(key).await
                } else {
                    sink.unsubscribe(key).await
                };
            }
        }
    }

    pub(super) fn route(&self, key: &str) -> Option<Arc<RedisAdapter>> {
        self.routes.read().unwrap_or_else(|e| e.into_inner()).get(key).and_then(Weak::upgrade)
    }
}

pub(super) async fn subscribe_all(
    sink: &mut redis::aio::PubSubSink,
    keys: &[String],
) -> redis::RedisResult<()> {
    for key in keys {
        if key.ends_with('*') {
            sink.psubscribe(key).await?;
        } else {
            sink.subscribe(key).await?;
        }
    }
    Ok(())
}

/// Publishes queued messages in order; a failed publish is reported and dropped (the connection manager
/// reconnects by itself).
pub(super) async fn publish_loop(
    mut conn: Conn,
    mut queue: mpsc::Receiver<(String, Bytes)>,
    errors: ErrorHooks,
) {
    // What has queued up meanwhile goes in pipelines (in order, a round trip per megabyte): a backlog
    // left by a slow or restarting Redis drains at once instead of one message per round trip.
    let mut batch = Vec::new();
    while queue.recv_many(&mut batch, 512).await > 0 {
        let commands = batch
            .drain(..)
            .map(|(channel, payload)| {
                let mut command = redis::cmd("PUBLISH");
                command.arg(channel).arg(payload.as_ref());
                (command, payload.len())
            })
            .collect();
        let replies =
            crate::redis_common::send_pipelined(&mut conn, commands, "redis adapter: PUBLISH failed").await;
        crate::report_failures(&errors, "redis adapter", replies.iter().map(|r| r.as_ref().err()));
    }
}

/// Keeps a subscriber connection: connects, subscribes every route, dispatches messages; on loss,
/// reconnects with backoff (100 ms doubling to 1 s) and subscribes again.
pub(super) async fn subscribe_loop(bus: Weak<RedisBus>) {
    let mut delay = Duration::from_millis(100);
    loop {
        let Some(strong) = bus.upgrade() else { return };
        let Endpoint::Single(client) = &strong.endpoint else { return };
        let connected = client.get_async_pubsub().await;
        let mut stream = match connected {
            Ok(pubsub) => {
                let (mut sink, stream) = pubsub.split();
                let keys: Vec<String> =
                    strong.routes.read().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect();
                let mut guard = strong.sink.lock().await;
                if let Err(e) = subscribe_all(&mut sink, &keys).await {
                    strong.errors.report(bus_error(format!("redis adapter: subscribe failed: {e}")));
                    drop(guard);
                    drop(strong);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(crate::RECONNECT_DELAY_MAX);
                    continue;
                }
                *guard = Some(sink);
                drop(guard);
                for adapter in
                    strong.routes.read().unwrap_or_else(|e| e.into_inner()).values().filter_map(Weak::upgrade)
                {
                    adapter.subscribed.send_replace(true);
                }
                delay = Duration::from_millis(100);
                stream
            }
            Err(e) => {
                strong.errors.report(bus_error(format!("redis adapter: cannot connect the subscriber: {e}")));
                drop(strong);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(crate::RECONNECT_DELAY_MAX);
                continue;
            }
        };
        drop(strong);
        while let Some(msg) = stream.next().await {
            let Some(bus) = bus.upgrade() else { return };
            let key = if msg.from_pattern() {
                msg.get_pattern::<String>().unwrap_or_default()
            } else {
                msg.get_channel_name().to_string()
            };
            if let Some(adapter) = bus.route(&key) {
                adapter.on_message(msg.get_channel_name(), Bytes::copy_from_slice(msg.get_payload_bytes()));
            }
        }
        if let Some(bus) = bus.upgrade() {
            bus.errors.report(bus_error("redis adapter: subscriber connection lost; reconnecting"));
            *bus.sink.lock().await = None;
            for adapter in
                bus.routes.read().unwrap_or_else(|e| e.into_inner()).values().filter_map(Weak::upgrade)
            {
                adapter.subscribed.send_replace(false);
            }
        }
    }
}
