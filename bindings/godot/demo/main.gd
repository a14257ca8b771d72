extends Node
## sealnet demo: connects, joins a room, and raises an event on a key press.
##
## Space raises an encrypted event, P a plain one, to the other members of the room. Every received
## event is printed with [ENC] (encrypted) or [PLAIN]. Start a server first (it listens on
## 127.0.0.1:4530 with app id "demo" by default) and run two instances of this project to see events
## travel between them.

## "host:port" of the server.
@export var server_address := "127.0.0.1:4530"
@export var app_id := "demo"
@export var room_name := "godot-demo"

## Event code of the demo's chat event (0 to 199 may be raised by clients).
const EVENT_CHAT := 1

@onready var peer: SealnetPeer = $Peer
@onready var log_label: Label = $Log

var _lines: PackedStringArray = []
var _sent := 0


func _ready() -> void:
	peer.status_changed.connect(_on_status_changed)
	peer.status_detail.connect(_on_status_detail)
	peer.event_received.connect(_on_event_received)
	peer.operation_response.connect(_on_operation_response)
	peer.operation_debug_message.connect(_on_operation_debug_message)
	_log("connecting to %s as \"%s\"" % [server_address, app_id])
	var error := peer.connect_to_server(server_address, app_id)
	if error != SealnetPeer.OK:
		_log("connect_to_server failed: %s" % SealnetPeer.error_text(error))


func _unhandled_input(event: InputEvent) -> void:
	var key := event as InputEventKey
	if key == null or not key.pressed or key.echo:
		return
	match key.keycode:
		KEY_SPACE:
			_raise(true)
		KEY_P:
			_raise(false)


func _raise(encrypt: bool) -> void:
	_sent += 1
	var data := {0: "hello #%d from %s" % [_sent, OS.get_process_id()], 1: PackedInt32Array([_sent, 42])}
	var error := peer.raise_event(EVENT_CHAT, data, encrypt, SealnetPeer.RECEIVERS_OTHERS)
	if error == SealnetPeer.OK:
		_log("sent %s event #%d" % ["encrypted" if encrypt else "plain", _sent])
	else:
		_log("raise_event failed: %s" % SealnetPeer.error_text(error))


func _on_status_changed(code: int) -> void:
	_log("status %d %s" % [code, SealnetPeer.status_name(code)])
	if code == SealnetPeer.STATUS_ENCRYPTION_ESTABLISHED:
		_log("server key %s" % peer.get_server_public_key())
		peer.join_room(room_name)


func _on_status_detail(code: int, reason: int, message: String) -> void:
	if reason != 0 or not message.is_empty():
		_log("  reason %d: %s" % [reason, message])


func _on_operation_response(op_code: int, return_code: int, data: Dictionary) -> void:
	if op_code == SealnetPeer.OP_JOIN_ROOM and return_code == 0:
		_log("joined \"%s\" as actor %d; members %s" % [room_name, data.get(SealnetPeer.PARAM_ACTOR_NR, -1),
				data.get(SealnetPeer.PARAM_ACTOR_LIST, [])])
		_log("press Space for an encrypted event, P for a plain one")
	else:
		_log("response to op %d: %d %s" % [op_code, return_code, data])


func _on_operation_debug_message(op_code: int, return_code: int, message: String) -> void:
	_log("  server says (op %d, code %d): %s" % [op_code, return_code, message])


func _on_event_received(code: int, data: Dictionary, sender: int, was_encrypted: bool) -> void:
	var mark := "[ENC]" if was_encrypted else "[PLAIN]"
	match code:
		SealnetPeer.EVENT_JOIN:
			_log("%s actor %d joined" % [mark, sender])
		SealnetPeer.EVENT_LEAVE:
			_log("%s actor %d left" % [mark, sender])
		_:
			_log("%s event %d from actor %d: %s" % [mark, code, sender, data.get(SealnetPeer.PARAM_DATA)])


func _log(line: String) -> void:
	print(line)
	_lines.append(line)
	if _lines.size() > 24:
		_lines.remove_at(0)
	log_label.text = "\n".join(_lines)
