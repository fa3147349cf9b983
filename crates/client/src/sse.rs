//! A Server-Sent Events decoder: bytes in, complete frames out.

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseFrame {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

#[derive(Default)]
pub struct SseDecoder {
    buffer: Vec<u8>,
    frame: SseFrame,
    data_lines: Vec<String>,
}

/// Frames beyond this size are a broken or hostile stream.
const MAX_BUFFER: usize = 1 << 20;

impl SseDecoder {
    /// Feeds a chunk; returns the frames it completed. Err when a line grows
    /// past 1 MiB.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseFrame>, &'static str> {
        self.buffer.extend_from_slice(chunk);
        let mut frames = Vec::new();
        while let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            if line.is_empty() {
                if !self.data_lines.is_empty() || !self.frame.event.is_empty() {
                    let mut frame = std::mem::take(&mut self.frame);
                    frame.data = std::mem::take(&mut self.data_lines).join("\n");
                    if frame.event.is_empty() {
                        frame.event = "message".to_owned();
                    }
                    frames.push(frame);
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((&line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => self.frame.id = Some(value.to_owned()),
                "event" => self.frame.event = value.to_owned(),
                "data" => self.data_lines.push(value.to_owned()),
                _ => {}
            }
        }
        if self.buffer.len() > MAX_BUFFER {
            return Err("event stream line too long");
        }
        Ok(frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_frames_split_anywhere() {
        let input = b": keep-alive\n\nid: 7\nevent: session.revoked\ndata: {\"a\":1}\n\nid: 8\r\nevent: resync\r\ndata: {}\r\n\r\n";
        for split in 0..input.len() {
            let mut decoder = SseDecoder::default();
            let mut frames = decoder.push(&input[..split]).unwrap();
            frames.extend(decoder.push(&input[split..]).unwrap());
            assert_eq!(
                frames,
                vec![
                    SseFrame {
                        id: Some("7".into()),
                        event: "session.revoked".into(),
                        data: "{\"a\":1}".into()
                    },
                    SseFrame {
                        id: Some("8".into()),
                        event: "resync".into(),
                        data: "{}".into()
                    },
                ],
                "split at {split}"
            );
        }
    }

    #[test]
    fn joins_multi_line_data_and_refuses_endless_lines() {
        let mut decoder = SseDecoder::default();
        let frames = decoder.push(b"data: a\ndata: b\n\n").unwrap();
        assert_eq!(frames[0].data, "a\nb");
        assert_eq!(frames[0].event, "message");
        assert!(decoder.push(&vec![b'x'; MAX_BUFFER + 1]).is_err());
    }
}
