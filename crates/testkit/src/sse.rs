//! A reader of `GET /v1/events` that parses Server-Sent Events frames.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::latchd::Latchd;

/// One frame of an SSE stream.
#[derive(Debug, Clone)]
pub struct Frame {
    pub id: Option<String>,
    pub event: String,
    pub data: Value,
}

/// A reader of `GET /v1/events` that parses frames as they arrive.
pub struct EventStream {
    response: reqwest::Response,
    buffer: String,
    pub ended: bool,
}

impl EventStream {
    pub async fn open(
        server: &Latchd,
        token: &str,
        last_event_id: Option<&str>,
    ) -> Result<EventStream, (StatusCode, Value)> {
        let mut request = server.http.get(server.url("/v1/events")).bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.unwrap();
        if response.status() != StatusCode::OK {
            let status = response.status();
            return Err((status, response.json().await.unwrap_or(Value::Null)));
        }
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        Ok(EventStream {
            response,
            buffer: String::new(),
            ended: false,
        })
    }

    /// The next event within `within`, or None if the stream ended or nothing came.
    pub async fn next(&mut self, within: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut frame = Frame {
                    id: None,
                    event: "message".into(),
                    data: Value::Null,
                };
                let mut data = String::new();
                let mut any = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        frame.id = Some(v.trim().to_owned());
                        any = true;
                    } else if let Some(v) = line.strip_prefix("event:") {
                        frame.event = v.trim().to_owned();
                        any = true;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                        any = true;
                    }
                }
                if any {
                    frame.data = serde_json::from_str(&data).unwrap_or(Value::Null);
                    return Some(frame);
                }
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Err(_) => return None,
                Ok(Ok(None)) | Ok(Err(_)) => self.ended = true,
                Ok(Ok(Some(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
            }
        }
    }

    /// The next event that isn't of the given names (e.g. skip session.updated).
    pub async fn next_named(&mut self, name: &str, within: Duration) -> Option<Frame> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = self.next(left).await?;
            if frame.event == name {
                return Some(frame);
            }
        }
    }

    /// True when the server closes the stream within `within`.
    pub async fn closes_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while !self.ended {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            if self.next(left).await.is_none() && !self.ended {
                return false;
            }
        }
        true
    }
}
