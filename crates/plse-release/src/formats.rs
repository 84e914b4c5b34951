//! The release's configs: which columns each holds, with their types, read from a row. One
//! table per config drives the Parquet schema, the JSONL lines and the dataset card's
//! `dataset_info` features, so the three cannot disagree.

use std::fmt;
use std::sync::Arc;

use arrow_array::builder::{ArrayBuilder, ListBuilder, StringBuilder, StructBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use serde_json::{Map, Value};

/// A config of the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Chat `messages` (TRL SFTTrainer, axolotl `chat_template`, torchtune `chat_dataset`).
    Sft,
    /// TRL conversational preference pairs (`prompt`, `chosen`, `rejected`): DPO, ORPO, KTO.
    Preference,
    /// `instruction`, `input`, `output` (Alpaca; LLaMA-Factory `formatting: alpaca`).
    Alpaca,
    /// `conversations` of `{from, value}` (ShareGPT; LLaMA-Factory `formatting: sharegpt`).
    Sharegpt,
}

impl Format {
    /// All configs, in card order.
    pub const ALL: [Format; 4] = [Self::Sft, Self::Preference, Self::Alpaca, Self::Sharegpt];

    /// The config name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sft => "sft",
            Self::Preference => "preference",
            Self::Alpaca => "alpaca",
            Self::Sharegpt => "sharegpt",
        }
    }

    /// What the config is for, for the card.
    pub fn description(self) -> &'static str {
        match self {
            Self::Sft => "chat `messages` (user, assistant): TRL `SFTTrainer`, axolotl `chat_template`, torchtune `chat_dataset`",
            Self::Preference => {
                "TRL conversational preference pairs (`prompt`, `chosen`, `rejected`) from the paired anti-patterns: DPO, ORPO, KTO"
            }
            Self::Alpaca => "`instruction`, `input`, `output`: Alpaca; LLaMA-Factory `formatting: alpaca`; torchtune `instruct_dataset`",
            Self::Sharegpt => "`conversations` of `{from, value}`: ShareGPT; LLaMA-Factory `formatting: sharegpt`",
        }
    }

    /// Whether the config is built from preference pairs (else from training rows).
    pub fn from_pairs(self) -> bool {
        self == Self::Preference
    }

    /// The columns of the config.
    pub fn columns(self) -> Vec<Column> {
        use Kind::*;
        let head = |c: Vec<Column>| c;
        match self {
            Self::Sft => {
                let mut c = head(vec![
                    col("id", Str, &["id"]),
                    col("task", Str, &["task"]),
                    col("messages", Messages(CHAT), &["messages"]),
                    // The thinking trace of the assistant turn, where the row has one (the
                    // codebase factory's rows); null for pattern rows.
                    col("thinking", OptStr, &["thinking"]),
                ]);
                c.extend(metadata());
                c.push(col("verification", Json, &["verification"]));
                c
            }
            Self::Alpaca => {
                let mut c = vec![
                    col("id", Str, &["id"]),
                    col("task", Str, &["task"]),
                    col("instruction", Str, &["instruction"]),
                    col("input", Str, &["input"]),
                    col("output", Str, &["output"]),
                ];
                c.extend(metadata());
                c
            }
            Self::Sharegpt => {
                let mut c =
                    vec![col("id", Str, &["id"]), col("task", Str, &["task"]), col("conversations", Messages(SHAREGPT), &["messages"])];
                c.extend(metadata());
                c
            }
            Self::Preference => {
                let mut c = vec![col("id", Str, &["id"])];
                c.extend(lesson());
                c.extend([
                    col("prompt", Messages(CHAT), &["prompt"]),
                    col("chosen", Messages(CHAT), &["chosen"]),
                    col("rejected", Messages(CHAT), &["rejected"]),
                    col("tests", Strings, &["tests"]),
                ]);
                c
            }
        }
    }

    /// The Arrow schema of the config.
    pub fn schema(self) -> SchemaRef {
        Arc::new(Schema::new(self.columns().iter().map(Column::field).collect::<Vec<_>>()))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which lesson a row comes from: every config, preference pairs included, carries these.
fn lesson() -> [Column; 6] {
    use Kind::*;
    [
        col("pattern_id", Str, &["pattern_id"]),
        col("pattern_version", Str, &["pattern_version"]),
        col("category", Str, &["category"]),
        col("difficulty", Str, &["difficulty"]),
        col("concept", Str, &["concept"]),
        col("tags", Strings, &["tags"]),
    ]
}

/// The metadata columns every row config carries: typed where a trainer filters on them.
fn metadata() -> Vec<Column> {
    use Kind::*;
    let mut c = lesson().to_vec();
    c.extend([
        col("language", Str, &["language"]),
        col("seed", U64, &["seed"]),
        col("index", U64, &["index"]),
        col("parameters", Json, &["parameters"]),
        col("code", Str, &["code"]),
        col("explanation", Str, &["explanation"]),
        col("tests", Strings, &["tests"]),
        col("requires", Strings, &["requires"]),
        col("artifact_kind", Str, &["artifact", "kind"]),
        col("artifact_path", OptStr, &["artifact", "path"]),
        col("capabilities", Strings, &["capabilities"]),
        col("verified", Strings, &["verification", "verified"]),
    ]);
    c
}

/// How messages are spelled in a config: keys of the role and the text, and role names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageStyle {
    /// Key of the role (`role`, `from`).
    pub role: &'static str,
    /// Key of the text (`content`, `value`).
    pub content: &'static str,
    /// Names for the user and the assistant.
    pub names: (&'static str, &'static str),
}

const CHAT: MessageStyle = MessageStyle { role: "role", content: "content", names: ("user", "assistant") };
const SHAREGPT: MessageStyle = MessageStyle { role: "from", content: "value", names: ("human", "gpt") };

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    Str,
    /// A string or null.
    OptStr,
    /// An unsigned integer.
    U64,
    /// A list of strings.
    Strings,
    /// A list of messages.
    Messages(MessageStyle),
    /// Any JSON value, kept as its JSON text (heterogeneous: parameters, verification details).
    Json,
}

/// One column: name, type, and where its value sits in a row.
#[derive(Debug, Clone)]
pub struct Column {
    /// The column name.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// JSON path of its value in the row.
    pub path: &'static [&'static str],
}

fn col(name: &'static str, kind: Kind, path: &'static [&'static str]) -> Column {
    Column { name, kind, path }
}

fn message_fields(style: MessageStyle) -> Fields {
    Fields::from(vec![Field::new(style.role, DataType::Utf8, false), Field::new(style.content, DataType::Utf8, false)])
}

impl Column {
    /// The Arrow field.
    pub fn field(&self) -> Field {
        let dt = match self.kind {
            Kind::Str | Kind::OptStr | Kind::Json => DataType::Utf8,
            Kind::U64 => DataType::UInt64,
            Kind::Strings => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            Kind::Messages(style) => DataType::List(Arc::new(Field::new("item", DataType::Struct(message_fields(style)), true))),
        };
        Field::new(self.name, dt, self.kind == Kind::OptStr)
    }

    /// The feature as the card's `dataset_info` spells it.
    pub fn card_feature(&self) -> String {
        match self.kind {
            Kind::Str | Kind::OptStr | Kind::Json => format!("  - name: {}\n    dtype: string\n", self.name),
            Kind::U64 => format!("  - name: {}\n    dtype: uint64\n", self.name),
            Kind::Strings => format!("  - name: {}\n    list: string\n", self.name),
            Kind::Messages(s) => format!(
                "  - name: {}\n    list:\n    - name: {}\n      dtype: string\n    - name: {}\n      dtype: string\n",
                self.name, s.role, s.content
            ),
        }
    }

    fn get<'a>(&self, row: &'a Value) -> &'a Value {
        let mut v = row;
        for key in self.path {
            v = v.get(key).unwrap_or(&Value::Null);
        }
        v
    }

    /// The column's value of `row`, normalised for the config (what JSONL holds).
    pub fn value(&self, row: &Value) -> Value {
        let v = self.get(row);
        match self.kind {
            Kind::Str => Value::String(text(v)),
            Kind::OptStr => match v {
                Value::Null => Value::Null,
                other => Value::String(text(other)),
            },
            Kind::U64 => Value::from(v.as_u64().unwrap_or(0)),
            Kind::Strings => Value::Array(v.as_array().map(|a| a.iter().map(|x| Value::String(text(x))).collect()).unwrap_or_default()),
            Kind::Messages(style) => Value::Array(
                v.as_array()
                    .map(|a| {
                        a.iter()
                            .map(|m| {
                                let role = text(&m["role"]);
                                let role = match role.as_str() {
                                    "user" => style.names.0.to_owned(),
                                    "assistant" => style.names.1.to_owned(),
                                    _ => role,
                                };
                                let mut o = Map::new();
                                o.insert(style.role.to_owned(), Value::String(role));
                                o.insert(style.content.to_owned(), Value::String(text(&m["content"])));
                                Value::Object(o)
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            Kind::Json => Value::String(if v.is_null() { String::new() } else { v.to_string() }),
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Column builders for one config: rows go in as JSON, a `RecordBatch` comes out.
pub struct Batch {
    format: Format,
    columns: Vec<Column>,
    builders: Vec<Box<dyn ArrayBuilder>>,
    rows: usize,
}

impl Batch {
    /// Empty builders for `format`.
    pub fn new(format: Format) -> Self {
        let columns = format.columns();
        let builders = columns.iter().map(|c| builder(c.kind)).collect();
        Self { format, columns, builders, rows: 0 }
    }

    /// Rows buffered.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row is buffered.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends the normalised values of one row (as [`Column::value`] gives them).
    pub fn push(&mut self, values: &[Value]) {
        for ((c, b), v) in self.columns.iter().zip(&mut self.builders).zip(values) {
            append(c.kind, b.as_mut(), v);
        }
        self.rows += 1;
    }

    /// The buffered rows as a batch; the builders start empty again.
    pub fn finish(&mut self) -> Result<RecordBatch, arrow_schema::ArrowError> {
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(|b| b.finish()).collect();
        self.rows = 0;
        RecordBatch::try_new(self.format.schema(), arrays)
    }
}

fn builder(kind: Kind) -> Box<dyn ArrayBuilder> {
    match kind {
        Kind::Str | Kind::OptStr | Kind::Json => Box::new(StringBuilder::new()),
        Kind::U64 => Box::new(UInt64Builder::new()),
        Kind::Strings => Box::new(ListBuilder::new(StringBuilder::new())),
        Kind::Messages(style) => Box::new(
            ListBuilder::new(StructBuilder::new(
                message_fields(style),
                vec![Box::new(StringBuilder::new()) as Box<dyn ArrayBuilder>, Box::new(StringBuilder::new())],
            ))
            .with_field(Arc::new(Field::new("item", DataType::Struct(message_fields(style)), true))),
        ),
    }
}

fn append(kind: Kind, b: &mut dyn ArrayBuilder, v: &Value) {
    let any = b.as_any_mut();
    match kind {
        Kind::Str | Kind::Json => {
            if let Some(s) = any.downcast_mut::<StringBuilder>() {
                s.append_value(v.as_str().unwrap_or(""));
            }
        }
        Kind::OptStr => {
            if let Some(s) = any.downcast_mut::<StringBuilder>() {
                s.append_option(v.as_str());
            }
        }
        Kind::U64 => {
            if let Some(u) = any.downcast_mut::<UInt64Builder>() {
                u.append_value(v.as_u64().unwrap_or(0));
            }
        }
        Kind::Strings => {
            if let Some(l) = any.downcast_mut::<ListBuilder<StringBuilder>>() {
                for x in v.as_array().into_iter().flatten() {
                    l.values().append_value(x.as_str().unwrap_or(""));
                }
                l.append(true);
            }
        }
        Kind::Messages(style) => {
            if let Some(l) = any.downcast_mut::<ListBuilder<StructBuilder>>() {
                for m in v.as_array().into_iter().flatten() {
                    let s = l.values();
                    for (i, key) in [style.role, style.content].into_iter().enumerate() {
                        if let Some(f) = s.field_builder::<StringBuilder>(i) {
                            f.append_value(m[key].as_str().unwrap_or(""));
                        }
                    }
                    s.append(true);
                }
                l.append(true);
            }
        }
    }
}
