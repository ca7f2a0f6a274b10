//! The embed document's side of the isolated mode: `/embed.html` runs [`serve_embed`], which
//! talks to the one app page that frames it over a `MessagePort` (the protocol:
//! [`crate::embed`]) and sends its requests through the vault.
//!
//! What the app's page gets: the status (locked, connected, which providers have a key),
//! answers to its requests as the proxy sends them, and error codes. What it never gets: a
//! key, a label, an id, the password or anything the vault stores. Every message is checked:
//! it must come from the frame's parent, from an origin the operator lists
//! (`GET /byok/embed`) and the user connected, and say something the protocol has a place for.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{AbortController, MessageEvent, MessagePort, ReadableStreamDefaultReader, Response};

use super::browser::{BrowserVault, Options};
use super::failover::KEY_ID_HEADER;
use crate::embed::{AppError, AppFetch, AppStatus, MAX_BODY, VERSION, app_fetch};
use crate::{LockReason, Provider, VaultError};

/// Serves the app page that frames this document until the page goes away. Call once, from
/// `/embed.html`.
///
/// # Errors
///
/// When this document is not in a frame, or the vault cannot be opened.
#[wasm_bindgen(js_name = serveEmbed)]
pub async fn serve_embed() -> Result<(), JsValue> {
    let window = web_sys::window().ok_or("the embed document needs a window")?;
    let parent = window
        .parent()?
        .filter(|p| !Object::is(p, &window))
        .ok_or("the embed document only runs inside an app's frame")?;
    let origins = allowed_origins().await;
    // The isolated vault never sends a plain key.
    let options = Options {
        seal: Some("always".into()),
        ..Options::default()
    };
    let vault = BrowserVault::open(options)
        .await
        .map_err(|e| JsValue::from_str(&e.to_string()))?;
    let frame = frame_id()?;
    vault.accept_handoff(frame.clone());
    let partitioned = storage_partitioned().await;
    let connections = Rc::new(Cell::new(0usize));
    let announce_to = parent.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        // Only the frame's own parent may connect, with a port. (A script of that page may
        // connect too: it is the app, as far as anyone can tell, and gets what the app gets.)
        let from_parent = event
            .source()
            .is_some_and(|source| Object::is(&source, &parent));
        let data = event.data();
        let is_connect = field_str(&data, "byok").as_deref() == Some("connect");
        if !from_parent || !is_connect || connections.get() >= MAX_CONNECTIONS {
            return;
        }
        let Some(port) = event.ports().get(0).dyn_into::<MessagePort>().ok() else {
            return;
        };
        let origin = event.origin();
        let refusal = if !origins.contains(&origin) {
            Some(AppError::NotAllowed)
        } else if field_u32(&data, "version") != Some(VERSION) {
            Some(AppError::BadMessage(format!(
                "this vault speaks version {VERSION} of the protocol"
            )))
        } else if partitioned {
            Some(AppError::StoragePartitioned)
        } else {
            None
        };
        if let Some(refusal) = refusal {
            let message = object(&[("type", "refused".into())]);
            set_error(&message, &refusal);
            let _ = port.post_message(&message);
            port.close();
            return;
        }
        connections.set(connections.get() + 1);
        App::start(vault.clone(), port, origin, frame.clone());
    });
    window.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref())?;
    // The document lives as long as the frame: so does its listener.
    on_message.forget();
    // Now it listens: the page may connect. (Saying so tells anyone nothing else.)
    let ready = object(&[("byok", "embed-ready".into())]);
    announce_to.post_message(&ready, "*")?;
    Ok(())
}

/// The most connections one frame serves (its page connects once; more is a page misbehaving).
const MAX_CONNECTIONS: usize = 8;

/// One connected app: its port, its origin, and the requests it has in flight.
struct App {
    vault: BrowserVault,
    port: MessagePort,
    origin: String,
    in_flight: RefCell<BTreeMap<u32, AbortController>>,
}

impl App {
    /// Answers `ready` and serves the app's messages from now on.
    fn start(vault: BrowserVault, port: MessagePort, origin: String, frame: String) {
        let app = Rc::new(Self {
            vault,
            port,
            origin,
            in_flight: RefCell::new(BTreeMap::new()),
        });
        let serving = Rc::clone(&app);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let app = Rc::clone(&serving);
            spawn_local(async move { app.handle(event.data()).await });
        });
        app.port
            .set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        let watching = Rc::downgrade(&app);
        app.vault.on_lock_change(move |_: LockReason| {
            if let Some(app) = watching.upgrade() {
                spawn_local(async move { app.send_change().await });
            }
        });
        spawn_local(async move {
            let status = app.status().await;
            let message = object(&[("type", "ready".into()), ("frame", frame.into())]);
            let _ = Reflect::set(&message, &"status".into(), &status);
            app.post(&message);
        });
    }

    fn post(&self, message: &JsValue) {
        // A page that went away is no error of ours.
        let _ = self.port.post_message(message);
    }

    async fn send_change(&self) {
        let message = object(&[("type", "change".into())]);
        let _ = Reflect::set(&message, &"status".into(), &self.status().await);
        self.post(&message);
    }

    /// What the app is told of the vault (see [`AppStatus`]).
    async fn status(&self) -> JsValue {
        let core = self.vault.core();
        let status = if core.is_locked() {
            AppStatus {
                connected: None,
                locked: true,
                providers: Vec::new(),
            }
        } else {
            let connected = core.app_connected(&self.origin).await.unwrap_or(false);
            let providers = if connected {
                Provider::ALL
                    .into_iter()
                    .filter(|p| core.serving_id(*p).ok().flatten().is_some())
                    .collect()
            } else {
                Vec::new()
            };
            AppStatus {
                connected: Some(connected),
                locked: core.is_locked(),
                providers,
            }
        };
        serde_wasm_bindgen::to_value(&status).unwrap_or(JsValue::NULL)
    }

    async fn handle(&self, data: JsValue) {
        let Some(id) = field_u32(&data, "id") else {
            // Nothing to answer to: a message without an id is dropped.
            return;
        };
        match field_str(&data, "op").as_deref() {
            Some("status") => {
                let message = object(&[("id", id.into())]);
                let _ = Reflect::set(&message, &"status".into(), &self.status().await);
                self.post(&message);
            }
            Some("fetch") => {
                if let Err(error) = self.fetch(id, &data).await {
                    self.in_flight.borrow_mut().remove(&id);
                    let message = object(&[("id", id.into())]);
                    set_error(&message, &error);
                    self.post(&message);
                }
            }
            Some("abort") => {
                if let Some(controller) = self.in_flight.borrow_mut().remove(&id) {
                    controller.abort();
                }
            }
            _ => {
                let message = object(&[("id", id.into())]);
                set_error(&message, &AppError::BadMessage("unknown op".into()));
                self.post(&message);
            }
        }
    }

    /// Sends one request of the app's through the vault and streams the answer back.
    async fn fetch(&self, id: u32, data: &JsValue) -> Result<(), AppError> {
        if self.in_flight.borrow().contains_key(&id) {
            return Err(AppError::BadMessage("that id is in use".into()));
        }
        let core = self.vault.core();
        if core.is_locked() {
            return Err(AppError::Locked);
        }
        if !core
            .app_connected(&self.origin)
            .await
            .map_err(|e| app_error(&e))?
        {
            return Err(AppError::NotConnected);
        }
        let request = app_fetch(
            &field_str(data, "provider").unwrap_or_default(),
            &field_str(data, "path").unwrap_or_default(),
            &field_str(data, "method").unwrap_or_else(|| "GET".into()),
            headers(data)?,
        )?;
        let controller = AbortController::new().map_err(|_| AppError::Unreachable)?;
        let init = init(&request, &body(data)?, &controller);
        self.in_flight.borrow_mut().insert(id, controller);
        let response = self
            .vault
            .fetch(request.provider, &request.path[1..], &init)
            .await
            .map_err(|e| app_error(&e))?;
        if whole(&response) {
            // A small answer that is not a stream goes in one message with its head: two hops
            // fewer than chunks and an end (about a millisecond a request, `make bench`).
            let body = JsFuture::from(response.array_buffer().map_err(|_| AppError::Unreachable)?)
                .await
                .map_err(|e| aborted_or_unreachable(&e))?;
            self.in_flight.borrow_mut().remove(&id);
            let message = head(id, &response, &self.origin);
            let _ = Reflect::set(&message, &"body".into(), &body);
            let _ = self
                .port
                .post_message_with_transferable(&message, &Array::of1(&body));
            return Ok(());
        }
        self.post(&head(id, &response, &self.origin));
        self.stream(id, &response).await
    }

    /// Posts each read of `response`'s body as it arrives, then the end.
    async fn stream(&self, id: u32, response: &Response) -> Result<(), AppError> {
        if let Some(stream) = response.body() {
            let reader: ReadableStreamDefaultReader = stream
                .get_reader()
                .dyn_into()
                .map_err(|_| AppError::Unreachable)?;
            loop {
                let read = JsFuture::from(reader.read())
                    .await
                    .map_err(|e| aborted_or_unreachable(&e))?;
                if field_bool(&read, "done") == Some(true) {
                    break;
                }
                let chunk: Uint8Array = Reflect::get(&read, &"value".into())
                    .ok()
                    .and_then(|v| v.dyn_into().ok())
                    .ok_or(AppError::Unreachable)?;
                // A copy of its own, so it can be transferred rather than cloned again.
                let buffer: ArrayBuffer = chunk.slice(0, chunk.length()).buffer();
                let message = object(&[("id", id.into()), ("chunk", buffer.clone().into())]);
                let _ = self
                    .port
                    .post_message_with_transferable(&message, &Array::of1(&buffer));
            }
        }
        self.in_flight.borrow_mut().remove(&id);
        self.post(&object(&[("id", id.into()), ("end", true.into())]));
        Ok(())
    }
}

/// The proxy's `GET /byok/embed`: the origins that may embed the vault (none when unreadable).
async fn allowed_origins() -> Vec<String> {
    let Some(window) = web_sys::window() else {
        return Vec::new();
    };
    let Ok(response) = JsFuture::from(window.fetch_with_str("/byok/embed")).await else {
        return Vec::new();
    };
    let Ok(response) = response.dyn_into::<Response>() else {
        return Vec::new();
    };
    let Ok(json) = response.json() else {
        return Vec::new();
    };
    let Ok(body) = JsFuture::from(json).await else {
        return Vec::new();
    };
    Reflect::get(&body, &"origins".into())
        .ok()
        .filter(Array::is_array)
        .map(|list| {
            Array::from(&list)
                .iter()
                .filter_map(|o| o.as_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether this frame's storage is kept apart from the vault's own (a cross-site app): the
/// Storage Access API says so where the browser has it.
async fn storage_partitioned() -> bool {
    let Some(document) = web_sys::window()
        .and_then(|w| Reflect::get(&w, &"document".into()).ok())
        .filter(JsValue::is_object)
    else {
        return false;
    };
    let Ok(has) = Reflect::get(&document, &"hasStorageAccess".into()) else {
        return false;
    };
    let Some(has) = has.dyn_ref::<js_sys::Function>() else {
        return false;
    };
    let Ok(promise) = has.call0(&document) else {
        return false;
    };
    match JsFuture::from(js_sys::Promise::from(promise)).await {
        Ok(answer) => answer.as_bool() == Some(false),
        Err(_) => false,
    }
}

/// A random id for this frame: what a vault window hands the key over under.
fn frame_id() -> Result<String, JsValue> {
    let mut bytes = [0u8; 16];
    crate::secret::fill_random(&mut bytes).map_err(|e| JsValue::from_str(&e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The request's headers, as `[[name, value], …]` pairs of strings.
fn headers(data: &JsValue) -> Result<Vec<(String, String)>, AppError> {
    let given = Reflect::get(data, &"headers".into()).unwrap_or(JsValue::UNDEFINED);
    if given.is_undefined() || given.is_null() {
        return Ok(Vec::new());
    }
    let bad = || AppError::BadMessage("headers must be [name, value] pairs of strings".into());
    if !Array::is_array(&given) {
        return Err(bad());
    }
    Array::from(&given)
        .iter()
        .map(|pair| {
            if !Array::is_array(&pair) {
                return Err(bad());
            }
            let pair = Array::from(&pair);
            match (
                pair.length(),
                pair.get(0).as_string(),
                pair.get(1).as_string(),
            ) {
                (2, Some(name), Some(value)) => Ok((name, value)),
                _ => Err(bad()),
            }
        })
        .collect()
}

/// The request's body: none, text, or bytes (an `ArrayBuffer` or a typed array), at most
/// [`MAX_BODY`].
fn body(data: &JsValue) -> Result<JsValue, AppError> {
    let given = Reflect::get(data, &"body".into()).unwrap_or(JsValue::UNDEFINED);
    let size = if given.is_undefined() || given.is_null() {
        return Ok(JsValue::UNDEFINED);
    } else if let Some(text) = given.as_string() {
        text.len()
    } else if let Some(buffer) = given.dyn_ref::<ArrayBuffer>() {
        buffer.byte_length() as usize
    } else if let Some(bytes) = given.dyn_ref::<Uint8Array>() {
        bytes.length() as usize
    } else {
        return Err(AppError::BadMessage(
            "a body must be text, an ArrayBuffer or a Uint8Array".into(),
        ));
    };
    if size > MAX_BODY {
        return Err(AppError::BadMessage("the body is too large".into()));
    }
    Ok(given)
}

/// The `fetch` options for `request`: its method, its kept headers, `body`, and a signal.
fn init(request: &AppFetch, body: &JsValue, controller: &AbortController) -> JsValue {
    let headers = Array::new();
    for (name, value) in &request.headers {
        headers.push(&Array::of2(&name.into(), &value.into()));
    }
    let init = object(&[
        ("method", request.method.as_str().into()),
        ("headers", headers.into()),
        ("signal", controller.signal().into()),
    ]);
    if !body.is_undefined() {
        let _ = Reflect::set(&init, &"body".into(), body);
    }
    init.into()
}

/// The most an answer sent whole (with its head) may hold.
const WHOLE_BELOW: u64 = 64 * 1024;

/// Whether `response` is small and declared so (`Content-Length`), and not an event stream:
/// sent whole rather than read by read.
fn whole(response: &Response) -> bool {
    let headers = response.headers();
    let small = headers
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|n| n.parse::<u64>().ok())
        .is_some_and(|n| n <= WHOLE_BELOW);
    let stream = headers
        .get("content-type")
        .ok()
        .flatten()
        .is_some_and(|t| t.starts_with("text/event-stream"));
    small && !stream
}

/// The `head` message: status and headers of the proxy's answer, the key that served named
/// by the app's own id for it (see [`crate::embed::app_key_id`]).
fn head(id: u32, response: &Response, origin: &str) -> Object {
    let headers = Array::new();
    if let Ok(Some(entries)) = js_sys::try_iter(&response.headers()) {
        for entry in entries.flatten() {
            let pair = Array::from(&entry);
            match (pair.get(0).as_string(), pair.get(1).as_string()) {
                (Some(name), Some(record)) if name == KEY_ID_HEADER => {
                    let shown = crate::embed::app_key_id(origin, &record);
                    headers.push(&Array::of2(&name.into(), &shown.into()));
                }
                _ => {
                    headers.push(&entry);
                }
            }
        }
    }
    let head = object(&[
        ("status", response.status().into()),
        ("statusText", response.status_text().into()),
        ("headers", headers.into()),
    ]);
    object(&[("id", id.into()), ("head", head.into())])
}

/// What a vault error becomes for an app: its code and nothing the vault holds.
fn app_error(error: &VaultError) -> AppError {
    match error {
        VaultError::Locked => AppError::Locked,
        VaultError::NoKey(provider) => AppError::NoKey(*provider),
        VaultError::Aborted => AppError::Aborted,
        VaultError::InvalidInput(_) => AppError::ForbiddenPath,
        _ => AppError::Unreachable,
    }
}

fn aborted_or_unreachable(error: &JsValue) -> AppError {
    if field_str(error, "name").as_deref() == Some("AbortError") {
        AppError::Aborted
    } else {
        AppError::Unreachable
    }
}

fn set_error(message: &Object, error: &AppError) {
    let detail = object(&[
        ("code", error.code().into()),
        ("message", error.message().into()),
    ]);
    let _ = Reflect::set(message, &"error".into(), &detail);
}

/// A plain object of `fields`.
fn object(fields: &[(&str, JsValue)]) -> Object {
    let object = Object::new();
    for (name, value) in fields {
        // Setting properties on a fresh plain object cannot fail.
        let _ = Reflect::set(&object, &(*name).into(), value);
    }
    object
}

fn field(data: &JsValue, name: &str) -> JsValue {
    if !data.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(data, &name.into()).unwrap_or(JsValue::UNDEFINED)
}

fn field_str(data: &JsValue, name: &str) -> Option<String> {
    field(data, name).as_string()
}

fn field_bool(data: &JsValue, name: &str) -> Option<bool> {
    field(data, name).as_bool()
}

/// A whole number from 0 to `u32::MAX`.
fn field_u32(data: &JsValue, name: &str) -> Option<u32> {
    let n = field(data, name).as_f64()?;
    // Checked to be a whole number in range first.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    (n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n)).then_some(n as u32)
}
