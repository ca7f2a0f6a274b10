//! `byok-proxy`: loads configuration, sets up logging, binds and serves with graceful shutdown.

use std::net::SocketAddr;
use std::process::ExitCode;

use byok_proxy::{AppState, Args, LogFormat, app};
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Args::parse()
        .with_file()
        .and_then(|a| a.validate(|k| std::env::var(k).ok()))
    {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("byok-proxy: {err}");
            return ExitCode::from(2);
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match settings.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
    let (listen, grace) = (settings.listen, settings.shutdown_grace);
    let state = match AppState::new(settings) {
        Ok(state) => state,
        Err(err) => {
            eprintln!("byok-proxy: {err}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("byok-proxy: cannot listen on {listen}: {err}");
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().unwrap_or(listen);
    // The e2e harness reads this line to learn the port when started with port 0.
    tracing::info!(address = %local, "listening on http://{local}/");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let mut graceful = stop_rx.clone();
    let server = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = graceful.wait_for(|stop| *stop).await;
        tracing::info!(
            grace_ms = grace.as_millis() as u64,
            "shutting down; letting running streams finish"
        );
    });
    let mut deadline = stop_rx;
    tokio::select! {
        result = server => {
            if let Err(err) = result {
                tracing::error!(error = %err, "server failed");
                return ExitCode::FAILURE;
            }
        }
        () = async move {
            let _ = deadline.wait_for(|stop| *stop).await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!("grace period over; closing remaining streams"),
    }
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
}
