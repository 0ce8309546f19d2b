import Foundation

/// One message of a conversation as Hugging Face chat templates see it: a dict with `role`, `content` and
/// whatever else the caller put in (`tool_calls`, `tool_call_id`, `name`, `reasoning_content`, ...).
///
/// The template receives the keys in this order: `role`, `content` (when it is a string), then `extra` in
/// its order. Keys whose value is null are left out, as `apply_chat_template` drops None-valued keys before
/// rendering, so `message.content is defined` is false for a tool-call message without text.
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    /// The message text; nil leaves `content` out. A content that is not a string (a list of parts, an
    /// object) lives in `extra["content"]`.
    public var content: String?
    /// Every other field, in order. A "role" here is ignored, and so is a "content" when `content` is set.
    public var extra: JSONObject

    public init(role: String, content: String?, extra: JSONObject = JSONObject()) {
        self.role = role
        self.content = content
        self.extra = extra
    }

    /// A message from parsed JSON: an object with a string `role`; `content` a string, null, missing, or
    /// any other JSON value (kept in `extra`). `path` names the message in errors ("messages[2]").
    public init(json: JSONValue, path: String = "message") throws {
        guard case .object(let object) = json else {
            throw ChatTemplateError.invalidMessage(path: path, message: "must be an object, found \(json.typeName)")
        }
        guard let roleValue = object["role"] else {
            throw ChatTemplateError.invalidMessage(path: path, message: "has no \"role\"")
        }
        guard case .string(let role) = roleValue else {
            throw ChatTemplateError.invalidMessage(
                path: "\(path).role", message: "must be a string, found \(roleValue.typeName)")
        }
        var extra = JSONObject()
        var content: String? = nil
        for (key, value) in object.pairs where key != "role" {
            if key == "content", case .string(let text) = value {
                content = text
            } else {
                extra[key] = value
            }
        }
        self.init(role: role, content: content, extra: extra)
    }

    /// A message from what `JSONSerialization.jsonObject` returns for one message object. Foundation
    /// dictionaries have no key order, so extra fields are sorted by key; parse the text with `JSONParser`
    /// and use `init(json:path:)` to keep the document's order (which `tojson` prints).
    public init(jsonObject: Any, path: String = "message") throws {
        try self.init(json: try JSONValue(foundation: jsonObject, path: path), path: path)
    }

    /// A conversation from a JSON array of message objects; errors name the message ("messages[2].role").
    public static func conversation(json: JSONValue, path: String = "messages") throws -> [ChatMessage] {
        guard case .array(let items) = json else {
            throw ChatTemplateError.invalidMessage(
                path: path, message: "must be an array of messages, found \(json.typeName)")
        }
        return try items.enumerated().map { try ChatMessage(json: $1, path: "\(path)[\($0)]") }
    }

    /// A conversation from what `JSONSerialization.jsonObject` returns for an array of messages.
    public static func conversation(jsonObject: Any, path: String = "messages") throws -> [ChatMessage] {
        try conversation(json: try JSONValue(foundation: jsonObject, path: path), path: path)
    }

    /// The message as the template sees it.
    public var jsonValue: JSONValue {
        var object = JSONObject([("role", .string(role))])
        if let content { object["content"] = .string(content) }
        for (key, value) in extra.pairs where value != .null && key != "role" {
            if key == "content" && content != nil { continue }
            object[key] = value
        }
        return .object(object)
    }
}

extension JSONValue {
    /// Converts what `JSONSerialization.jsonObject` returns (`NSNull`, `NSNumber`, `String`, arrays,
    /// dictionaries), or the same shapes built in Swift. Dictionary keys are sorted (Foundation keeps no
    /// order). `path` names the value in errors.
    init(foundation value: Any, path: String) throws {
        switch value {
        case is NSNull:
            self = .null
        case let s as String:
            self = .string(s)
        case let n as NSNumber:
            // NSNumber carries JSON booleans as the C type char ("c") on Darwin and Linux; numbers never are.
            let type = String(cString: n.objCType)
            if type == "c" || type == "B" {
                self = .bool(n.boolValue)
            } else if type == "d" || type == "f" {
                self = .double(n.doubleValue)
            } else if let i = Int(exactly: n.int64Value), NSNumber(value: n.int64Value) == n {
                self = .int(i)
            } else {
                self = .double(n.doubleValue)
            }
        case let a as [Any]:
            self = .array(try a.enumerated().map { try JSONValue(foundation: $1, path: "\(path)[\($0)]") })
        case let d as [String: Any]:
            var object = JSONObject()
            for key in d.keys.sorted() {
                if let v = d[key] { object[key] = try JSONValue(foundation: v, path: "\(path).\(key)") }
            }
            self = .object(object)
        case let v as JSONValue:
            self = v
        default:
            throw ChatTemplateError.invalidMessage(path: path, message: "is a \(type(of: value)), not a JSON value")
        }
    }
}
