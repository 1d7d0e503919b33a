//! HAProxy's `show stat` CSV, as its stats socket prints it, reduced to the back-end servers'
//! live state.

/// One server's live state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerState {
    /// The back end (the front end's name).
    pub(crate) backend: String,
    /// The server's name.
    pub(crate) server: String,
    /// `UP`, `DOWN`, `MAINT`, `NOLB`, `DRAIN` or `no check`, without the transition counts
    /// HAProxy appends (`UP 1/3` is `UP`).
    pub(crate) status: String,
    /// The last check's result code and description, e.g. `L4OK` or `L4CON: Connection refused`.
    pub(crate) last_check: String,
    /// Whether the state is settled: a check has completed since HAProxy started, and the
    /// server is not between UP and DOWN (`UP 1/3`, `DOWN 1/2`).
    pub(crate) settled: bool,
}

impl ServerState {
    /// Whether the server takes traffic.
    pub(crate) fn is_up(&self) -> bool {
        self.status == "UP" || self.status == "no check"
    }
}

/// The servers of `show stat` output; the front-end and back-end summary rows are left out.
pub(crate) fn parse_show_stat(text: &str) -> Result<Vec<ServerState>, String> {
    let mut lines = text.lines();
    let header = lines
        .next()
        .and_then(|line| line.strip_prefix("# "))
        .ok_or("show stat printed no header")?;
    let columns: Vec<&str> = header.split(',').collect();
    let column = |name: &str| {
        columns
            .iter()
            .position(|c| *c == name)
            .ok_or_else(|| format!("show stat has no {name} column"))
    };
    let (pxname, svname, status) = (column("pxname")?, column("svname")?, column("status")?);
    let (check_status, last_chk) = (column("check_status")?, column("last_chk")?);
    let mut servers = Vec::new();
    for line in lines.filter(|line| !line.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').collect();
        let field = |index: usize| fields.get(index).copied().unwrap_or_default();
        if matches!(field(svname), "FRONTEND" | "BACKEND") {
            continue;
        }
        let raw_status = field(status);
        let status = if raw_status.starts_with("no check") {
            "no check".to_owned()
        } else {
            raw_status
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        let code = field(check_status);
        let settled = status == "no check"
            || status == "MAINT"
            || (!raw_status.contains('/') && !code.is_empty() && !code.contains("INI"));
        let mut last_check = code.trim_start_matches('*').trim().to_owned();
        let description = field(last_chk);
        if !description.is_empty() {
            last_check = format!("{last_check}: {description}");
        }
        servers.push(ServerState {
            backend: field(pxname).to_owned(),
            server: field(svname).to_owned(),
            status,
            last_check,
            settled,
        });
    }
    Ok(servers)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape HAProxy 2.6 prints (columns cut after `last_chk`'s neighbours).
    const SAMPLE: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,last_chk,\n\
k8s_api,FRONTEND,,,0,0,262144,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,0,,,,,,\n\
k8s_api,bettley,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,5,0,,1,3,1,,0,,2,0,,0,L4OK,,0,,,\n\
k8s_api,cargyll,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,1,1,2,2,,1,3,2,,0,,2,0,,0,L4CON,,0,,Connection refused,\n\
k8s_api,dalt,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,0,0,2,2,,1,3,3,,0,,2,0,,0,*L4OK,,0,,,\n\
k8s_api,edric,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP 1/3,1,1,0,0,0,2,2,,1,3,3,,0,,2,0,,0,L4OK,,0,,,\n\
k8s_api,BACKEND,0,0,0,0,26215,0,0,0,0,0,,0,0,0,0,UP,1,1,0,,0,5,0,,1,3,0,,0,,1,0,,0,,,,,,\n\n";

    #[test]
    fn servers_and_their_last_checks() {
        let servers = parse_show_stat(SAMPLE).unwrap();
        let summary: Vec<(&str, &str, &str)> = servers
            .iter()
            .map(|s| (s.server.as_str(), s.status.as_str(), s.last_check.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("bettley", "UP", "L4OK"),
                ("cargyll", "DOWN", "L4CON: Connection refused"),
                ("dalt", "MAINT", "L4OK"),
                ("edric", "UP", "L4OK"),
            ]
        );
        assert!(servers[0].is_up() && !servers[1].is_up() && !servers[2].is_up());
        assert!(servers.iter().all(|s| s.backend == "k8s_api"));
        let settled: Vec<bool> = servers.iter().map(|s| s.settled).collect();
        assert_eq!(settled, [true, true, true, false]);
        let starting = SAMPLE.replace(
            "UP,1,1,0,0,0,5,0,,1,3,1,,0,,2,0,,0,L4OK",
            "UP,1,1,0,0,0,5,0,,1,3,1,,0,,2,0,,0,* INI",
        );
        let first = &parse_show_stat(&starting).unwrap()[0];
        assert!(!first.settled && first.is_up());
    }

    #[test]
    fn output_without_a_header_is_an_error() {
        assert!(parse_show_stat("").is_err());
        assert!(parse_show_stat("Unknown command\n").is_err());
    }
}
