//! How a socket's handlers run: inline while nothing of the socket runs, else on a task of its own
//! that takes its later jobs in order (see [`Jobs`]).
use super::*;

/// Work for a socket's handlers, queued: run synchronously, it yields what to start.
pub(crate) type Job = Box<dyn FnOnce() -> JobStart + Send>;

/// The futures a job starts: usually one (an event with one handler), kept inline.
pub(crate) type Futures = smallvec::SmallVec<[BoxFuture; 1]>;

/// Work that must finish before the socket's next job starts (an event's packet middlewares); it then
/// yields the futures to start.
pub(super) type Gate = Pin<Box<dyn Future<Output = Futures> + Send + 'static>>;

/// What a job yields.
pub(crate) enum JobStart {
    /// Futures to start (poll once, in order) and let run alongside the socket's later jobs.
    Run(Futures),
    /// A gate: the socket's later jobs wait for it.
    Gate(Gate),
}

/// What a job left running after its start.
pub(super) struct Started {
    /// Futures still pending after their first poll.
    pub(super) running: Vec<BoxFuture>,
    /// A gate still pending after its first poll.
    pub(super) gate: Option<Gate>,
}

/// Where a socket's jobs run. Most handlers never wait (they emit or answer and return), so a socket
/// has no task of its own until one does: a job runs inline, in the task that received its packet,
/// and its futures are polled once there. Only futures still pending after that first poll move to a
/// handler task, which then takes the socket's later jobs, in order, for as long as it lives.
pub(crate) enum Jobs {
    /// No job runs: the next one runs inline.
    Idle,
    /// A job runs inline now; jobs that come meanwhile (from inside it) wait here, in order. `closed`:
    /// the socket finished disconnecting meanwhile (what is queued still runs, nothing more).
    Inline { queued: Vec<Job>, closed: bool },
    /// The handler task runs: jobs go to it.
    Task(mpsc::UnboundedSender<Job>),
    /// Disconnected: jobs are dropped.
    Closed,
}

/// A handler future that reports a panic instead of unwinding into its caller.
pub(super) fn guarded(fut: BoxFuture) -> BoxFuture {
    Box::pin(std::panic::AssertUnwindSafe(fut).catch_unwind().map(|r| {
        if r.is_err() {
            tracing::error!("a socket.io handler panicked");
        }
    }))
}

/// A gate that reports a panic (and then starts nothing) instead of unwinding into its caller.
pub(super) fn guarded_gate(gate: Gate) -> Gate {
    Box::pin(std::panic::AssertUnwindSafe(gate).catch_unwind().map(|r| {
        r.unwrap_or_else(|_| {
            tracing::error!("a socket.io packet middleware panicked");
            Futures::new()
        })
    }))
}

/// Runs `job`, reporting a panic.
pub(super) fn call_job(job: impl FnOnce() -> JobStart) -> JobStart {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).unwrap_or_else(|_| {
        tracing::error!("a socket.io listener panicked");
        JobStart::Run(Futures::new())
    })
}

/// Runs `job` and polls each of its futures, or its gate, once: what is still pending.
pub(super) fn start_job(job: impl FnOnce() -> JobStart) -> Started {
    // Polled with a waker that does nothing: a future still pending is polled again, with its task's
    // waker, as soon as it reaches the handler task, and registers that waker then.
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let futures = match call_job(job) {
        JobStart::Run(futures) => futures,
        JobStart::Gate(gate) => {
            let mut gate = guarded_gate(gate);
            match gate.as_mut().poll(&mut cx) {
                std::task::Poll::Ready(futures) => futures,
                std::task::Poll::Pending => return Started { running: Vec::new(), gate: Some(gate) },
            }
        }
    };
    let running = futures.into_iter().filter_map(|fut| first_poll(fut, &mut cx)).collect();
    Started { running, gate: None }
}

/// Polls a handler's future for the first time, reporting a panic: the future if it goes on,
/// wrapped (and boxed) only then to report its later panics.
fn first_poll(mut fut: BoxFuture, cx: &mut std::task::Context<'_>) -> Option<BoxFuture> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
        Ok(std::task::Poll::Ready(())) => None,
        Ok(std::task::Poll::Pending) => Some(guarded(fut)),
        Err(_) => {
            tracing::error!("a socket.io handler panicked");
            None
        }
    }
}

/// Starts `futures` on the handler task: each polled once, in order; the pending ones join `running`.
pub(super) async fn start_futures(futures: Futures, running: &mut FuturesUnordered<BoxFuture>) {
    for fut in futures {
        let mut fut = Some(fut);
        let pending =
            std::future::poll_fn(|cx| std::task::Poll::Ready(fut.take().and_then(|f| first_poll(f, cx))))
                .await;
        if let Some(fut) = pending {
            running.push(fut);
        }
    }
}

/// A socket's handler task: it finishes `started` (already polled once) and runs the jobs that come,
/// each started (polled once) in arrival order, as the reference runs its listeners; they then run to
/// completion alongside the others. While a gate (an event's packet middlewares) is pending, the jobs
/// after it wait, and the futures already running go on. A handler that panics is reported and the
/// socket goes on.
pub(super) async fn run_handlers(mut jobs: mpsc::UnboundedReceiver<Job>, started: Started) {
    let mut running: FuturesUnordered<BoxFuture> = started.running.into_iter().collect();
    let mut gate = started.gate;
    loop {
        if let Some(pending) = gate.as_mut() {
            tokio::select! {
                futures = pending => {
                    gate = None;
                    start_futures(futures, &mut running).await;
                }
                Some(()) = running.next(), if !running.is_empty() => {}
            }
            continue;
        }
        tokio::select! {
            job = jobs.recv() => match job {
                Some(job) => match call_job(job) {
                    JobStart::Run(futures) => start_futures(futures, &mut running).await,
                    JobStart::Gate(next) => gate = Some(guarded_gate(next)),
                },
                None => break,
            },
            Some(()) = running.next(), if !running.is_empty() => {}
        }
    }
    while running.next().await.is_some() {}
}

impl Socket {
    /// Queues a future on the socket's handler task.
    pub(crate) fn run(&self, fut: BoxFuture) {
        self.run_job(move || JobStart::Run(smallvec::smallvec![fut]));
    }

    /// Runs a job after the socket's earlier ones: inline when nothing of the socket runs (see [`Jobs`]),
    /// else on its handler task.
    /// Boxed only when it has to wait.
    pub(super) fn run_job(&self, job: impl FnOnce() -> JobStart + Send + 'static) {
        {
            let mut jobs = self.0.jobs.lock().unwrap_or_else(|e| e.into_inner());
            match &mut *jobs {
                Jobs::Closed => return,
                Jobs::Task(tx) => {
                    let _ = tx.send(Box::new(job));
                    return;
                }
                Jobs::Inline { queued, .. } => {
                    queued.push(Box::new(job));
                    return;
                }
                Jobs::Idle => *jobs = Jobs::Inline { queued: Vec::new(), closed: false },
            }
        }
        let pending = {
            #[cfg(feature = "tracing")]
            let _entered = self.0.span.enter();
            start_job(job)
        };
        let mut jobs = self.0.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let (queued, closed) = match std::mem::replace(&mut *jobs, Jobs::Idle) {
            Jobs::Inline { queued, closed } => (queued, closed),
            other => {
                *jobs = other;
                return;
            }
        };
        if closed {
            *jobs = Jobs::Closed;
        }
        if pending.running.is_empty() && pending.gate.is_none() && queued.is_empty() {
            return;
        }
        // Something waits, or came meanwhile: from now on the socket's jobs run on a task of its own.
        let (tx, rx) = mpsc::unbounded_channel();
        for job in queued {
            let _ = tx.send(job);
        }
        if !closed {
            *jobs = Jobs::Task(tx);
        }
        drop(jobs);
        #[cfg(feature = "tracing")]
        tokio::spawn(tracing::Instrument::instrument(run_handlers(rx, pending), self.0.span.clone()));
        #[cfg(not(feature = "tracing"))]
        tokio::spawn(run_handlers(rx, pending));
    }

    /// No job runs after the ones already started or queued (the socket is gone).
    pub(super) fn close_jobs(&self) {
        let mut jobs = self.0.jobs.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *jobs {
            Jobs::Inline { closed, .. } => *closed = true,
            // Dropping the sender lets the task finish its queue and end.
            _ => *jobs = Jobs::Closed,
        }
    }
}
